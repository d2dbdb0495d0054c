"""HTTP hardening middlewares and the socket's origin check (docs/security.md).

- `trusted_host`: links are built from the request's origin when there is no --public-url, so
  a request for an unknown Host (`Host: evil.example`) is refused (421) before any route runs.
- `same_origin_json`: every unsafe method needs `Content-Type: application/json` (a
  cross-site form can send only form or text/plain bodies) and, when the browser says where it
  comes from (`Origin`, `Sec-Fetch-Site`), the same origin.
- `security_headers`: CSP (the pages have no inline script or style), nosniff, no framing, no
  referrer, no server version.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from yarl import URL

from server.config import Settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Server": "Circle",
}
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def _json(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def request_hostname(scheme: str, host: str) -> str | None:
    """The host name in a Host header, read exactly as aiohttp reads it to build the request's
    URL (and so its links): yarl's authority parser, without the port, IPv6 literals without
    brackets. None for a malformed header: one yarl cannot parse, or one with a userinfo part,
    which no Host has (`localhost:80/@evil.com` is user `localhost:80/` at `evil.com`)."""
    try:
        url = URL.build(scheme=scheme, authority=host)
    except ValueError:
        return None
    if url.raw_user is not None or url.raw_password is not None or not url.raw_host:
        return None
    return url.raw_host.lower()


def trusted_hostnames(settings: Settings) -> frozenset[str]:
    """Hosts whose requests may build links: the public URL's, else loopback and the
    listening address itself (unless it is a wildcard such as 0.0.0.0)."""
    if settings.public_url:
        return frozenset({(URL(settings.public_url).raw_host or "").lower()})
    names = set(LOOPBACK_NAMES)
    try:
        if not ipaddress.ip_address(settings.host).is_unspecified:
            names.add(settings.host.lower())
    except ValueError:
        names.add(settings.host.lower())
    return frozenset(names)


def public_origin(settings: Settings, request_origin: str) -> str:
    """The origin pages are served from: --public-url's, else the (trusted) request's."""
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        return f"{parts.scheme}://{parts.netloc}".lower()
    return request_origin.lower()


def make_middlewares(settings: Settings) -> list[Any]:
    hostnames = trusted_hostnames(settings)

    @web.middleware
    async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # raised past the JSON middleware (it never should)
            response = exc
        response.headers.update(HEADERS)
        return response

    @web.middleware
    async def trusted_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        hostname = request_hostname(request.scheme, request.host)
        if hostname is None:
            return _json(400, "invalid", "malformed Host header")
        if hostname not in hostnames:
            return _json(421, "misdirected", "unknown host; the server's --public-url names it")
        return await handler(request)

    @web.middleware
    async def same_origin_json(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in SAFE_METHODS or request.match_info.http_exception is not None:
            return await handler(request)  # no such route or method: answered as such
        expected = public_origin(settings, str(request.url.origin()))
        origin = request.headers.get("Origin")
        site = request.headers.get("Sec-Fetch-Site")
        if (origin is not None and origin.lower() != expected) or site not in (
            None,
            "same-origin",
            "none",
        ):
            return _json(403, "forbidden", "requests from other sites are refused")
        if request.content_type != "application/json":
            return _json(415, "unsupported_media_type", "send Content-Type: application/json")
        return await handler(request)

    return [security_headers, trusted_host, same_origin_json]


def socket_origin_check(settings: Settings) -> Callable[[str | None, dict[str, Any]], bool]:
    """python-engineio's `cors_allowed_origins` callable: only the public origin may open a
    socket (a missing Origin is a non-browser client, which CORS does not concern)."""
    hostnames = trusted_hostnames(settings)

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None:
            return True
        host = str(environ.get("HTTP_HOST", ""))
        # python-engineio says "http" unless X-Forwarded-Proto says otherwise, even over TLS
        scheme = "https" if settings.tls_cert else str(environ.get("wsgi.url_scheme", "http"))
        if request_hostname(scheme, host) not in hostnames:
            return False
        return origin.lower() == public_origin(settings, f"{scheme}://{host}")

    return allowed
