"""Operating the stack: provisioning the database and the broker, and the services' migrations (they name the
services, so they live here, above the kernel, not in it)."""
