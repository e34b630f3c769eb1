"""RPC with a timeout. nameko's RpcProxy waits forever for a reply; here every call has a deadline,
the request message expires in the queue at that deadline (so a service that comes back later does
not run a call whose caller already gave up), and a missing or slow service becomes `Unavailable`."""

from __future__ import annotations

import time
from typing import Any

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from nameko.rpc import RpcProxy
from prometheus_client import Counter, Histogram

from kernel.config import settings
from kernel.errors import Unavailable, from_remote

RPC_DURATION = Histogram("ejournal_rpc_duration_seconds", "RPC call duration as the caller saw it",
                         ["service", "method"])
RPC_ERRORS = Counter("ejournal_rpc_errors_total", "RPC calls that failed", ["service", "method", "code"])


class ServiceRpc(RpcProxy):
    def __init__(self, target_service: str, timeout: float | None = None):
        self.timeout = timeout or settings().rpc_timeout
        super().__init__(target_service, expiration=self.timeout)

    def get_dependency(self, worker_ctx: Any) -> TimedProxy:
        return TimedProxy(super().get_dependency(worker_ctx), self.target_service, self.timeout)


class TimedProxy:
    def __init__(self, proxy: Any, service: str, timeout: float):
        self._proxy = proxy
        self.service = service
        self.timeout = timeout

    def call(self, method: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        limit = timeout or self.timeout
        started = time.perf_counter()
        code = "ok"
        try:
            with eventlet.Timeout(limit):
                return getattr(self._proxy, method).call_async(*args, **kwargs).result()
        except eventlet.Timeout:
            code = "unavailable"
            raise Unavailable(f"{self.service} did not answer within {limit:g} s", service=self.service) from None
        except UnknownService:
            code = "unavailable"
            raise Unavailable(f"{self.service} is not running", service=self.service) from None
        except RemoteError as exc:
            domain = from_remote(exc.exc_type, exc.value)
            code = domain.code if domain is not None else "internal"
            if domain is not None:
                raise domain from None
            raise
        finally:
            RPC_DURATION.labels(self.service, method).observe(time.perf_counter() - started)
            if code != "ok":
                RPC_ERRORS.labels(self.service, method, code).inc()

    def __getattr__(self, method: str) -> Any:
        return lambda *args, **kwargs: self.call(method, *args, **kwargs)
