"""The messages that cross a boundary, one module per service that owns them: the bodies its RPC commands take and
the answers they give, the events it emits (`EVENTS`: type -> marshmallow schema of the payload, as on the wire) and
the vocabularies those use. The owning service and every caller or consumer (the gateway, other services, tests)
import the same module, so a change of shape is one change, seen by both sides. A contract imports only the standard
library and marshmallow: no service internals, no kernel (tests/unit/test_layers.py)."""
