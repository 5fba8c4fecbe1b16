"""The web pages' parts: their shared stylesheet and scripts, served by the app under content-hashed URLs,
and each page rendered with its server data in a JSON data island (no inline code: the CSP allows none)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chalice import Response

from chalicelib.api.http import ApiBlueprint
from chalicelib.domain.attachment import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ivr import LANGUAGES, MENU, peril_name
from chalicelib.domain.regions import UNKNOWN_REGION, region_table

bp = ApiBlueprint(__name__)

WEB = Path(__file__).resolve().parent.parent / "web"
# Shared by every page first, then each page's own script.
ASSETS = ("site.css", "site.js", "form.js", "status.js")
HASH_CHARS = 16  # of the SHA-256 of the file's bytes: 64 bits, no two versions of a file collide
# What an asset's hashed name looks like (the OpenAPI document publishes it).
_STEMS = tuple(dict.fromkeys(name.rsplit(".", 1)[0] for name in ASSETS))
ASSET_NAME_PATTERN = rf"(?:{'|'.join(_STEMS)})\.[0-9a-f]{{{HASH_CHARS}}}\.(?:css|js)"
DATA_ISLAND_ID = "page-data"
# The places the form offers (others: "other region" and an address); names come from the region table.
FORM_REGIONS = ("310101", "310104", "310105", "310115", "110101", "110105", "440305", "330106")
PHOTOS_AT_ONCE = 5  # photos picked in one go, on the form or the status page
_CONTENT_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
# A hashed URL names one version of a file forever: browsers and CDNs keep it a year without asking again.
_ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}
_PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class Asset:
    name: str
    hashed_name: str
    body: str
    content_type: str


@lru_cache(maxsize=1)
def _assets() -> dict[str, Asset]:
    """Every asset by its hashed name, hashed once per container from the bytes it serves."""
    table = {}
    for name in ASSETS:
        raw = (WEB / name).read_bytes()
        stem, ext = name.rsplit(".", 1)
        hashed = f"{stem}.{hashlib.sha256(raw).hexdigest()[:HASH_CHARS]}.{ext}"
        table[hashed] = Asset(name, hashed, raw.decode("utf-8"), _CONTENT_TYPES["." + ext])
    return table


@lru_cache(maxsize=1)
def _hashed_names() -> dict[str, str]:
    return {asset.name: hashed for hashed, asset in _assets().items()}


def asset_path(name: str, root: str = "/") -> str:
    return f"{root}assets/{_hashed_names()[name]}"


def root_of(path: str, route: str) -> str:
    """The root a page hangs from: its request path less its route's segments (API Gateway puts the stage
    in front: /api/claims/CLM-… for the route /claims/{claim_id} hangs from /api/)."""
    segments = [s for s in path.split("/") if s]
    depth = len([s for s in route.split("/") if s])
    kept = segments[:len(segments) - depth] if depth else segments
    return "/" + "".join(f"{s}/" for s in kept)


@lru_cache(maxsize=4)
def _template(name: str) -> str:
    return (WEB / name).read_text(encoding="utf-8")


def data_island(data: dict) -> str:
    """JSON for a <script type="application/json"> element: no character of it can end the element or
    open markup, whatever the data holds."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(template: str, language: str, root: str, data: dict) -> str:
    page = _template(template).replace("__LANG__", language)
    for name in ASSETS:
        page = page.replace(f"__ASSET:{name}__", asset_path(name, root))
    return page.replace("__PAGE_DATA__", data_island({"language": language, "root": root, **data}))


def page_response(body: str, upload_origin: str, status: int = 200) -> Response:
    # Scripts and styles from this origin only, none inline; photos go to the bucket (connect-src).
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
           f"connect-src 'self' {upload_origin}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    return Response(body=body, status_code=status, headers={**_PAGE_HEADERS, "Content-Security-Policy": csp})


# -- the server's data every page may need -----------------------------------------------------------

def limits() -> dict:
    """What the server accepts, for the pages to check and say before anything is sent."""
    from chalicelib.schemas.claim_form import MAX_ADDRESS_CHARS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS

    return {"photo_bytes": MAX_ATTACHMENT_BYTES, "photo_types": list(ATTACHMENT_TYPES),
            "photos_at_once": PHOTOS_AT_ONCE, "description_chars": MAX_DESCRIPTION_CHARS,
            "address_chars": MAX_ADDRESS_CHARS, "name_chars": MAX_NAME_CHARS}


def form_data() -> dict:
    table = region_table()
    return {"limits": limits(), "other_region": UNKNOWN_REGION,
            "regions": [{"code": code, "name": table.place_names(code)} for code in FORM_REGIONS],
            "perils": {peril: {lang: peril_name(peril, lang) for lang in LANGUAGES} for peril in MENU}}


def status_data(claim_id: str, token: str) -> dict:
    return {"limits": limits(), "claim_id": claim_id, "token": token}


# -- the assets --------------------------------------------------------------------------------------

@bp.route("/assets/{name}", methods=["GET"])
def asset(name: str):
    found = _assets().get(name)
    if found is None:
        # Another hash is another version: never served, lest a page get a file it was not made with.
        raise NotFound("No such asset.")
    return Response(body=found.body, status_code=200, headers={**_ASSET_HEADERS, "Content-Type": found.content_type})
