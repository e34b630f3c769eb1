"""The limit the check-in path is compared with: a bare nameko HTTP entrypoint making one RPC call to a
bare nameko service that answers at once. No database, no validation, no authentication."""

from nameko.rpc import RpcProxy, rpc
from nameko.web.handlers import http


class BareBackend:
    name = "bench_backend"

    @rpc
    def ping(self, value):
        return value


class BareGateway:
    name = "bench_gateway"
    backend = RpcProxy("bench_backend")

    @http("POST", "/rt")
    def round_trip(self, request):
        return 200, self.backend.ping(request.get_data(as_text=True))
