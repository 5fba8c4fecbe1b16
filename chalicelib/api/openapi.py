"""``GET /openapi.json``: the OpenAPI 3.1 document of every HTTP route of the app.

Cold start matters, and Lambda compiles every module it imports on each cold start (no .pyc can be
written to /var/task): so this module holds the route and nothing else. The document's builder
(``openapi_spec.py``, with pydantic's JSON-schema generation and the response models) is imported on
the first request for the document, and the document is kept, already serialised, for the life of
the container.
"""
from __future__ import annotations

import threading

from chalice import Response

from chalicelib.api.http import ApiBlueprint

bp = ApiBlueprint(__name__)

OPENAPI_PATH = "/openapi.json"
_lock = threading.Lock()
_cached: dict[str, str] = {}


@bp.route(OPENAPI_PATH, methods=["GET"])
def openapi_document():
    return Response(body=document_text(bp.current_app.routes), status_code=200,
                    headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"})


def document_text(routes) -> str:
    """The document as JSON text, built once per container."""
    text = _cached.get("document")
    if text is None:
        with _lock:
            text = _cached.get("document")
            if text is None:
                import json

                from chalicelib.api.openapi_spec import build_document

                text = _cached["document"] = json.dumps(build_document(routes, OPENAPI_PATH), ensure_ascii=False,
                                                        separators=(",", ":"))
    return text


def reset_cache() -> None:
    """For tests that change the settings the document quotes (body limits, base URL)."""
    _cached.clear()
