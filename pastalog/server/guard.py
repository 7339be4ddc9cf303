"""Safety at the door: ``Host``, ``Origin`` and token checks before any route runs.

- ``Host`` must name this server (an allow-list against DNS rebinding): IP literals,
  ``localhost``, the address it listens on, and the names given with ``--allow-host``
  (``*`` allows any). A page on ``evil.example`` that rebinds its name to 127.0.0.1
  sends ``Host: evil.example`` and is refused.
- ``Origin``, when a browser sends one on a websocket upgrade or a write, must be this
  server's own (scheme, host and port), so another site's page can neither stream
  points over ``/ws`` nor write. Browsers already keep other origins from reading
  answers to plain ``GET``s (no CORS headers are ever sent).
- A token, when the server has one: ``Authorization: Bearer <token>`` or the session
  cookie the page gets from ``POST /api/v1/session`` (an expiring, signed session id,
  never the token itself; its name carries the port, since cookies ignore ports).

``Guard.refusal(environ)`` works on a bare WSGI environ so that the server can refuse a
websocket upgrade before the handshake (see ``serve.py``); ``GuardPlugin`` runs the same
check for every route.
"""
import base64
import hashlib
import hmac
import http.cookies
import ipaddress
import os
import time
from typing import Any, Callable, Iterable, Optional

import bottle

from .jsonio import dumps

__all__ = ["Guard", "GuardPlugin", "SESSION_SECONDS"]

#: How long a page's session lasts.
SESSION_SECONDS = 30 * 24 * 3600
OPEN_PATHS = ("/", "/healthz", "/api/v1/session", "/favicon.ico")


def _latin1_header(environ: dict, key: str) -> str:
    """A header as text; WSGI gives latin-1 decoded bytes, so any byte is representable."""
    value = environ.get(key, "")
    return value if isinstance(value, str) else ""


def _split_host(host: str) -> "tuple[str, str]":
    """``("name", "port")`` of a Host header value (IPv6 literals in brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest.lstrip(":")
    name, _, port = host.partition(":")
    return name, port


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """The checks, configured once per app.

    Parameters
    ----------
    token : str, optional
        The server's secret; ``None``: no token needed.
    public_read : bool
        With a token: reads need none.
    allowed_hosts : iterable of str
        Host names besides IP literals and ``localhost`` that name this server;
        ``"*"`` allows any.

    Examples
    --------
    >>> guard = Guard(allowed_hosts=["gpu-box"])
    >>> env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/models",
    ...        "HTTP_HOST": "evil.example:8120", "wsgi.url_scheme": "http"}
    >>> guard.refusal(env)[0]
    403
    >>> guard.refusal(dict(env, HTTP_HOST="gpu-box:8120")) is None
    True
    """

    def __init__(self, *, token: Optional[str] = None, public_read: bool = False,
                 allowed_hosts: Iterable[str] = ()):
        self.token = token
        self.public_read = public_read
        hosts = {h.strip().lower().strip("[]") for h in allowed_hosts if h.strip()}
        self.any_host = "*" in hosts
        self.hosts = hosts | {"localhost"}
        self._key = hashlib.sha256(b"pastalog-session\0" + token.encode()).digest() \
            if token is not None else b""

    # -- the checks ----------------------------------------------------------------

    def host_allowed(self, host: str) -> bool:
        """Whether a Host header value names this server."""
        name, _ = _split_host(host)
        # no Host at all (an HTTP/1.0 health check) is no browser, so no rebinding
        return (self.any_host or not name or _is_ip(name) or name in self.hosts
                or name.endswith(".localhost"))

    @staticmethod
    def same_origin(environ: dict) -> bool:
        """Whether the request's ``Origin`` (if any) is this server's own."""
        origin = _latin1_header(environ, "HTTP_ORIGIN")
        if not origin:
            return True
        scheme = (_latin1_header(environ, "HTTP_X_FORWARDED_PROTO").split(",")[0].strip()
                  or environ.get("wsgi.url_scheme", "http")).lower()
        host = _latin1_header(environ, "HTTP_HOST").lower()
        return origin.lower() == f"{scheme}://{host}"

    def refusal(self, environ: dict) -> "Optional[tuple[int, str]]":
        """``(status, message)`` when the request must be refused, else ``None``."""
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        host = _latin1_header(environ, "HTTP_HOST")
        if not self.host_allowed(host):
            shown = _split_host(host)[0][:80]
            return 403, (f"Host {shown!r} is not a name of this server (DNS rebinding "
                         f"guard); to allow it, start the server with --allow-host {shown}")
        upgrade = _latin1_header(environ, "HTTP_UPGRADE").lower() == "websocket"
        if (upgrade or method not in ("GET", "HEAD")) and not self.same_origin(environ):
            origin = _latin1_header(environ, "HTTP_ORIGIN")[:80]
            what = "websocket" if upgrade else method
            return 403, f"cross-origin {what} refused (Origin {origin!r} is not this server)"
        if self.token is None or path in OPEN_PATHS or path.startswith("/static/"):
            return None
        if self.public_read and (upgrade or method in ("GET", "HEAD")):
            return None
        if not self.authorized(environ):
            return 401, "this server needs a token: send 'Authorization: Bearer <token>'"
        return None

    def authorized(self, environ: dict) -> bool:
        """Whether the request carries the token or a valid session cookie."""
        given = _latin1_header(environ, "HTTP_AUTHORIZATION")
        if given.startswith("Bearer "):
            # WSGI decodes header bytes as latin-1: the token's UTF-8 bytes come back
            raw = given[len("Bearer "):].encode("latin-1", "replace")
            return hmac.compare_digest(raw, (self.token or "").encode())
        return self.session_valid(self._cookie(environ))

    # -- sessions ------------------------------------------------------------------

    @staticmethod
    def cookie_name(environ: dict) -> str:
        """``pastalog_session_<port>``: cookies ignore ports, so the name carries it."""
        _, port = _split_host(_latin1_header(environ, "HTTP_HOST"))
        return f"pastalog_session_{port or '80'}"

    def _cookie(self, environ: dict) -> str:
        jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        try:
            jar.load(_latin1_header(environ, "HTTP_COOKIE"))
        except http.cookies.CookieError:
            return ""
        morsel = jar.get(self.cookie_name(environ))
        return morsel.value if morsel is not None else ""

    def new_session(self, now: Optional[float] = None) -> str:
        """A signed session id that expires after ``SESSION_SECONDS``."""
        expires = int((now or time.time()) + SESSION_SECONDS)
        body = base64.urlsafe_b64encode(os.urandom(12)).decode() + f".{expires}"
        return body + "." + self._sign(body)

    def session_valid(self, session: str, now: Optional[float] = None) -> bool:
        """Whether ``session`` was made by :meth:`new_session` with this token, unexpired."""
        body, _, sig = session.rpartition(".")
        _, _, expires = body.rpartition(".")
        if not sig or not expires.isdigit() or not self._key:
            return False
        return (hmac.compare_digest(sig, self._sign(body))
                and int(expires) > (now or time.time()))

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]


class GuardPlugin:
    """Bottle plugin: runs :meth:`Guard.refusal` before every route."""

    name = "pastalog_guard"
    api = 2

    def __init__(self, guard: Guard):
        self.guard = guard

    def apply(self, callback: Callable, route: Any) -> Callable:
        guard = self.guard

        def guarded(*args: Any, **kwargs: Any) -> Any:
            refused = guard.refusal(bottle.request.environ)
            if refused is not None:
                status, message = refused
                raise bottle.HTTPResponse(dumps({"error": message}), status,
                                          {"Content-Type": "application/json"})
            return callback(*args, **kwargs)
        return guarded
