"""How one fetch reaches its hosts: every connection resolved, checked and opened within its deadline.

urllib3 alone resolves a name with no timeout and tries each of its addresses with the whole connect
timeout (a name with twenty black-holed addresses takes twenty timeouts), and the URL guard's lookup
and the HTTP client's are two lookups that may disagree. Here one :class:`Dialer` per fetch:

* resolves each host once (:meth:`Dialer.lookup`, through the :class:`~.urlguard.Resolver` seam), within
  the deadline, and keeps the answer for the rest of the fetch: the guard checks those addresses
  and the connections go to those addresses, so a name that rebinds is never asked twice;
* refuses a forbidden address before connecting (unless private addresses are allowed);
* connects to each address with at most the time left, and stops at the deadline;
* hands every socket to the watchdog, which shuts it down at the deadline: TLS, a response head sent
  one byte a second, an endless ``100 Continue``, a trickled body all end there.

:class:`DialingAdapter` plugs it into a requests session (:func:`~.http.make_session`).
"""

from __future__ import annotations

import math
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any, cast

from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.poolmanager import PoolManager

from ....errors import UrlRejected
from .. import urlguard
from ..deadline import WATCHDOG, Deadline, Watch
from ..urlguard import IPAddress, Resolver

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPSConnection


class Dialer:
    """Connections for one fetch: its deadline, its guard setting, its resolver and the names it resolved."""

    def __init__(self, deadline: Deadline, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        self.deadline = deadline
        self.allow_private = allow_private
        self._resolver = resolver
        self._resolved: dict[tuple[str, int], list[IPAddress]] = {}
        self._lock = threading.Lock()

    def lookup(self, host: str, port: int | None) -> list[IPAddress]:
        """The addresses of ``host``: resolved once per fetch, within the deadline."""
        key = (urlguard.canonical_host(host), port or 0)
        with self._lock:
            known = self._resolved.get(key)
        if known is not None:
            return known
        addresses = urlguard.resolve(host, port, self._resolver, self.deadline)
        with self._lock:
            return self._resolved.setdefault(key, addresses)

    def connect(
        self, host: str, port: int, timeout: float | None, options: list[tuple[int, int, int | bytes]] | None = None
    ) -> tuple[socket.socket, Watch | None]:
        """A socket connected to one of ``host``'s checked addresses, and the watch that ends it at the
        deadline. Each address gets at most ``timeout`` and never more than the time left."""
        addresses = self.lookup(host, port)
        if not self.allow_private:
            found = urlguard.refusal(host, addresses)
            if found:
                ip, reason = found
                raise UrlRejected(
                    f"refusing to connect to {host}: it resolves to {ip}, which is {reason}; set "
                    f"ALLOW_PRIVATE_URLS=true to allow private addresses"
                )
        step = float(timeout) if isinstance(timeout, int | float) else math.inf  # None: no connect timeout
        last: OSError | None = None
        for ip in addresses:
            sock = socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
            try:
                for option in options or ():
                    sock.setsockopt(*option)
                sock.settimeout(self.deadline.cap(step, f"connecting to {host}"))
                sock.connect((str(ip), port))
            except OSError as exc:
                sock.close()
                last = exc
                continue
            except BaseException:
                sock.close()
                raise
            return sock, WATCHDOG.watch(sock, self.deadline)
        self.deadline.check(f"connecting to {host}")
        raise last if last is not None else OSError(f"{host} has no address to connect to")


# --- requests and urllib3: connections that dial through the fetch's Dialer ----------------------------------
class _DialedConnection(HTTPConnection):
    dialer: Dialer
    _watch: Watch | None = None

    def _new_conn(self) -> socket.socket:
        try:
            sock, self._watch = self.dialer.connect(self.host, self.port, self.timeout, self.socket_options)
        except TimeoutError as exc:
            message = f"Connection to {self.host} timed out (connect timeout={self.timeout})"
            raise ConnectTimeoutError(self, message) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._watch is not None:
                self._watch.cancel()
                self._watch = None


class _DialedHTTPSConnection(_DialedConnection, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _DialedConnection
    dialer: Dialer

    def _new_conn(self) -> HTTPConnection:
        conn = cast(_DialedConnection, super()._new_conn())
        conn.dialer = self.dialer
        return conn


class _HttpsPool(HTTPSConnectionPool):
    ConnectionCls = _DialedHTTPSConnection
    dialer: Dialer

    def _new_conn(self) -> BaseHTTPSConnection:
        conn = cast(_DialedHTTPSConnection, super()._new_conn())
        conn.dialer = self.dialer
        return conn


class _PoolManager(PoolManager):
    def __init__(self, dialer: Dialer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dialer = dialer
        self.pool_classes_by_scheme = {"http": _Pool, "https": _HttpsPool}

    def _new_pool(self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None) -> Any:
        pool = super()._new_pool(scheme, host, port, request_context)
        cast(_Pool | _HttpsPool, pool).dialer = self.dialer
        return pool


class DialingAdapter(HTTPAdapter):
    """A requests adapter whose every connection goes through ``dialer``. Mount it for http and https on a
    session with ``trust_env`` off, so that no proxy stands between the checked address and the server."""

    def __init__(self, dialer: Dialer) -> None:
        self.dialer = dialer  # set before HTTPAdapter.__init__, which builds the pool manager
        super().__init__()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK, **pool_kwargs: Any
    ) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _PoolManager(
            self.dialer, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )
