"""The web pages' parts: one stylesheet and one script module shared by every page, served by the app
under content-hashed URLs, and the server's data handed to each page in a JSON data island."""
from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from itertools import combinations
from pathlib import Path

import pytest

from chalicelib.api import pages
from chalicelib.domain.attachment import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES
from chalicelib.domain.ivr import LANGUAGES, MENU, peril_name
from chalicelib.domain.regions import region_table
from chalicelib.schemas.claim_form import PublicClaimIn
from tests.integration.claim_form import submit

WEB = Path(pages.__file__).resolve().parent.parent / "web"
IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


class PageParts(HTMLParser):
    """What a page pulls in: stylesheets, scripts, inline code and its data island."""

    def __init__(self) -> None:
        super().__init__()
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.inline_scripts: list[str] = []
        self.styles = 0
        self.style_attributes = 0
        self.islands: dict[str, str] = {}
        self._open: tuple[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "style" in a:
            self.style_attributes += 1
        if tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a["href"])
        elif tag == "style":
            self.styles += 1
        elif tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "script":
            self._open = (a.get("type") or "", a.get("id"))

    def handle_data(self, data):
        if self._open is None:
            return
        kind, name = self._open
        if kind == "application/json":
            self.islands[name or ""] = self.islands.get(name or "", "") + data
        elif data.strip():
            self.inline_scripts.append(data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._open = None


def parts_of(response) -> PageParts:
    parser = PageParts()
    parser.feed(response.body.decode("utf-8"))
    return parser


def island(response) -> dict:
    return json.loads(parts_of(response).islands[pages.DATA_ISLAND_ID])


def status_page(client):
    answer = json.loads(submit(client).body)
    return answer, client.http.get(answer["status_url"])


# -- assets ------------------------------------------------------------------------------------------

def test_both_pages_use_the_one_stylesheet_and_script_module_under_their_content_hash(client):
    # GIVEN the claim form and a claim's status page
    form = parts_of(client.http.get("/"))
    _, page = status_page(client)
    status = parts_of(page)

    # THEN each links the same stylesheet and shared script, each named by the hash of its bytes
    shared_css = {Path(href).name for href in form.stylesheets} & {Path(href).name for href in status.stylesheets}
    shared_js = {Path(src).name for src in form.scripts} & {Path(src).name for src in status.scripts}
    for name in ("site.css", "site.js"):
        digest = hashlib.sha256((WEB / name).read_bytes()).hexdigest()[:pages.HASH_CHARS]
        stem, ext = name.rsplit(".", 1)
        assert f"{stem}.{digest}.{ext}" in shared_css | shared_js, (name, shared_css, shared_js)
    # ... and its own page script after the shared one
    assert [Path(src).name.split(".")[0] for src in form.scripts] == ["site", "form"]
    assert [Path(src).name.split(".")[0] for src in status.scripts] == ["site", "status"]


@pytest.mark.parametrize("name", pages.ASSETS)
def test_an_asset_is_served_for_a_year_with_its_content_type_and_exact_bytes(client, name):
    # GIVEN the URL a page links an asset by
    url = pages.asset_path(name)

    # WHEN it is fetched
    response = client.http.get(url)

    # THEN it is the file, typed, never sniffed, and cacheable as is for a year
    assert response.status_code == 200
    assert response.body == (WEB / name).read_bytes()
    assert response.headers["Content-Type"] == CONTENT_TYPES[Path(name).suffix]
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_link_assets_from_the_root_of_the_stage_they_are_served_under():
    # GIVEN request paths as API Gateway passes them on, under a stage "api" or at a domain's root
    # WHEN the root the page's assets hang from is worked out from the path and the route
    # THEN it is the stage's root, whatever the route's depth, with or without a trailing slash
    assert pages.root_of("/api/claims/CLM-01ARZ3NDEKTSV4RRFFQ69G5FAV", "/claims/{claim_id}") == "/api/"
    assert pages.root_of("/claims/CLM-01ARZ3NDEKTSV4RRFFQ69G5FAV", "/claims/{claim_id}") == "/"
    assert pages.root_of("/api", "/") == pages.root_of("/api/", "/") == "/api/"
    assert pages.root_of("/", "/") == pages.root_of("", "/") == "/"


@pytest.mark.parametrize("name", [
    "site.0000000000000000.css",  # another hash: an old or made-up version
    "site.css",  # no hash: never served uncached-looking
    "form.html", "nothing.0000000000000000.js", "site.0000000000000000.js.map", "..%2Fform.html",
])
def test_an_asset_under_another_hash_or_name_is_a_404_in_the_error_shape(client, name):
    response = client.http.get(f"/assets/{name}")

    assert response.status_code == 404
    assert json.loads(response.body)["error"]["code"] == "NOT_FOUND"
    assert "immutable" not in response.headers.get("Cache-Control", "")


# -- no inline code, no copies -------------------------------------------------------------------

def test_pages_carry_no_inline_code_and_the_policy_allows_only_their_own(client):
    _, page = status_page(client)
    for response in (client.http.get("/"), page, client.http.get("/claims/CLM-01ARZ3NDEKTSV4RRFFQ69G5FAV?t=x")):
        parts = parts_of(response)
        assert (parts.styles, parts.style_attributes, parts.inline_scripts) == (0, 0, [])
        csp = response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "https://" not in response.body.decode()


def _rules(css: str) -> list[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return [rule.strip() for rule in re.findall(r"[^{}]+\{[^{}]*\}", css)]


def _runs(js: str, length: int = 3) -> set[tuple[str, ...]]:
    """Every run of ``length`` consecutive statements (comments, blank lines and lone brackets left out):
    a block pasted into two files shares its runs, a common one-liner alone does not."""
    lines = [re.sub(r"\s+", " ", re.sub(r"(^|\s)//.*$", "", line)).strip() for line in js.splitlines()]
    lines = [line for line in lines if len(line) > 14]  # not a lone bracket or 'use strict'
    return {tuple(lines[i:i + length]) for i in range(len(lines) - length + 1)}


def test_no_style_rule_or_line_of_script_is_repeated_between_the_pages_files():
    # GIVEN every file of the web pages
    css = (WEB / "site.css").read_text(encoding="utf-8")
    scripts = {name: (WEB / name).read_text(encoding="utf-8") for name in pages.ASSETS if name.endswith(".js")}
    html = {path.name: path.read_text(encoding="utf-8") for path in WEB.glob("*.html")}

    # THEN the stylesheet says each rule once, and the pages hold none
    rules = _rules(css)
    assert len(rules) == len(set(rules)), sorted({r for r in rules if rules.count(r) > 1})
    assert all("<style" not in page for page in html.values())
    # ... and no block of script is in two files
    for (a, text_a), (b, text_b) in combinations(scripts.items(), 2):
        assert _runs(text_a) & _runs(text_b) == set(), (a, b)


def test_the_scripts_copy_no_server_data():
    scripts = "\n".join((WEB / name).read_text(encoding="utf-8") for name in pages.ASSETS if name.endswith(".js"))
    for code in region_table().regions:
        assert code == "000000" or code not in scripts, code
    for peril in MENU:
        assert f"{peril}:" not in scripts and f"'{peril}'" not in scripts, peril
    assert "1024 * 1024" not in scripts and "'image/jpeg', 'image/png'" not in scripts
    assert not re.search(r"\b4000\b|10 MB|最多 5|up to 5\b|length > (500|100)\b", scripts)


# -- data islands --------------------------------------------------------------------------------

def test_the_forms_data_island_is_the_servers_regions_perils_and_limits(client):
    # WHEN the form is served
    data = island(client.http.get("/?lang=en"))

    # THEN its data island holds what the server checks against, in both languages
    table = region_table()
    assert data["language"] == "en"
    assert [r["code"] for r in data["regions"]] == list(pages.FORM_REGIONS)
    for region in data["regions"]:
        assert region["name"] == table.place_names(region["code"])
    assert data["perils"] == {peril: {lang: peril_name(peril, lang) for lang in LANGUAGES} for peril in MENU}
    schema = PublicClaimIn.model_json_schema()["properties"]
    assert data["limits"] == {
        "photo_bytes": MAX_ATTACHMENT_BYTES, "photo_types": list(ATTACHMENT_TYPES),
        "photos_at_once": pages.PHOTOS_AT_ONCE,
        "description_chars": schema["description"]["maxLength"],
        "address_chars": schema["address"]["anyOf"][0]["maxLength"],
        "name_chars": schema["claimant_name"]["anyOf"][0]["maxLength"],
    }
    assert data["other_region"] == "000000"


def test_the_status_pages_data_island_names_its_claim_and_nothing_when_the_link_fails(client):
    answer, page = status_page(client)

    data = island(page)
    assert (data["claim_id"], data["token"], data["language"]) == (answer["claim_id"], answer["status_token"], "en")
    assert data["limits"]["photo_bytes"] == MAX_ATTACHMENT_BYTES

    refused = client.http.get(f"/claims/{answer['claim_id']}?t=forged")
    assert refused.status_code == 404
    assert (island(refused)["claim_id"], island(refused)["token"]) == ("", "")


def test_a_data_island_cannot_end_its_script_element():
    # GIVEN data holding what would close the element and open a script
    text = pages.data_island({"note": "</script><script>alert(1)</script><!-- & "})

    # THEN it reads back the same, with no markup left in it
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"note": "</script><script>alert(1)</script><!-- & "}
