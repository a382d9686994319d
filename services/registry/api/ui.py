"""``/ui``: the catalog web page, served from package data (no CDN, works offline).

The page is one HTML file, one vanilla JS module and one stylesheet; the module reads the
catalog and schema APIs of this same registry and, when configured, the quality monitor's
``GET /products`` for live SLO status. Every response here carries the page's
Content-Security-Policy, so nothing but the registry's own files can run in its origin.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict

from services.registry.errors import UnknownRouteError
from services.registry.settings import RegistrySettings
from streammesh.models import WireModel

router = APIRouter(prefix="/ui", tags=["ui"])

# A closed set: nothing outside it is ever read, so a path can never escape the folder.
STATIC: Final = {
    "index.html": "text/html; charset=utf-8",
    "catalog.js": "text/javascript; charset=utf-8",
    "catalog.css": "text/css; charset=utf-8",
}
# Scripts, styles and everything else only from this registry; no inline script or style, no
# plugins, no <base> rewriting, no framing. fetch() alone may leave the origin: the page reads
# the quality monitor's GET /products, wherever the monitor runs (a fetch cannot run script).
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; connect-src 'self' http: https:; base-uri 'none'; "
    "object-src 'none'; form-action 'none'; frame-ancestors 'none'"
)
# On every /ui response. no-cache: revalidate on every load, so a redeployed registry is never
# shown with a stale script.
HEADERS: Final = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
}


class UiConfig(WireModel):
    """What the page needs to know about its surroundings."""

    model_config = ConfigDict(frozen=True)

    monitor_url: str | None = None


@cache
def _read(name: str) -> bytes:
    return resources.files("services.registry.ui").joinpath("static", name).read_bytes()


def _static(name: str) -> Response:
    media_type = STATIC.get(name)
    if media_type is None:
        raise UnknownRouteError()  # as any unknown path is answered
    return Response(_read(name), media_type=media_type, headers=HEADERS)


@router.get("", include_in_schema=False)
async def page() -> Response:
    return _static("index.html")


@router.get("/", include_in_schema=False)
async def page_with_slash() -> Response:
    return _static("index.html")


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    return _static(name)


@router.get("/config")
async def config(request: Request, response: Response) -> UiConfig:
    """The quality monitor's URL, when the registry knows one (else the page shows "unknown")."""
    response.headers.update(HEADERS)
    settings: RegistrySettings = request.app.state.settings
    return UiConfig(monitor_url=settings.monitor_url)
