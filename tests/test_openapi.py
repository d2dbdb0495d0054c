"""The OpenAPI document, the app's router and docs/api.md name the same REST routes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.app import create_app
from server.openapi import OPERATIONS, document
from tests.conftest import make_settings

pytestmark = pytest.mark.unit

API_MD = Path(__file__).resolve().parent.parent / "docs" / "api.md"
OPS_PATHS = ("/healthz", "/readyz", "/metrics")  # outside /api/, for probes and scrapers


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0])


def test_the_router_and_the_document_agree(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, port=1))
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and (route.resource.canonical.startswith("/api/") or route.resource.canonical in OPS_PATHS)
    }
    assert served == set(OPERATIONS)
    doc = document()
    assert doc["openapi"] == "3.1.0"
    in_doc = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert in_doc == set(OPERATIONS)


def test_docs_api_md_names_every_route_and_no_other() -> None:
    text = API_MD.read_text()
    named = {
        (m, _shape(p))
        for m, p in re.findall(r"`(GET|POST|PATCH|PUT|DELETE) (/[^`\s]*)`", text)
        if p.startswith("/api/") or p in OPS_PATHS
    }
    assert named == {(m, _shape(p)) for m, p in OPERATIONS}
