"""The README and docs/ as a clone has them: every relative link reaches a file of the repository (and a
heading of it, when the link names one), none climbs out of the repository, and the README stays short
enough to read in five minutes (the detail lives in docs/)."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

REPO = Path(__file__).resolve().parents[2]
README_MAX_LINES = 150

_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
# A path written as code that leaves the folder it is written in (`../shared/DESIGN.md`): a reader of a
# clone cannot follow it either.
_CODE_PATH_UP = re.compile(r"`(\.\./[^`\s]*)`")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # https:, mailto:, ...


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def links_of(text: str) -> list[str]:
    prose = _FENCE.sub("", text)
    return _INLINE_LINK.findall(prose) + _REFERENCE_LINK.findall(prose)


def heading_anchors(markdown: Path) -> set[str]:
    """The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as hyphens."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in _FENCE.sub("", markdown.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def problems_of(document: Path, text: str | None = None) -> list[str]:
    """What is wrong with the links of a page (its own text, or the text given as if it were the page's)."""
    problems = []
    text = document.read_text(encoding="utf-8") if text is None else text
    for target in links_of(text):
        if _EXTERNAL.match(target) or target.startswith("//"):
            continue
        path_part, _, fragment = target.partition("#")
        resolved = (document.parent / unquote(path_part)).resolve() if path_part else document
        if REPO not in resolved.parents and resolved != REPO:
            problems.append(f"{target}: points outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file in the repository")
        elif fragment and resolved.suffix == ".md" and fragment not in heading_anchors(resolved):
            problems.append(f"{target}: {resolved.name} has no heading #{fragment}")
    for written in _CODE_PATH_UP.findall(_FENCE.sub("", text)):
        resolved = (document.parent / written).resolve()
        if REPO not in resolved.parents:
            problems.append(f"`{written}`: names a file outside the repository")
    return [f"{document.relative_to(REPO)}: {problem}" for problem in problems]


def test_every_relative_link_of_the_readme_and_docs_reaches_a_file_of_the_repository():
    # GIVEN the README and every page of docs/
    pages = documents()
    # WHEN each link is followed from the page that holds it
    problems = [problem for page in pages for problem in problems_of(page)]
    # THEN each one lands on a file (and heading) inside the repository
    assert problems == []


def test_the_readme_links_to_the_docs():
    # GIVEN the README
    links = links_of((REPO / "README.md").read_text(encoding="utf-8"))
    # WHEN its links to docs/ are gathered
    linked = {link.partition("#")[0] for link in links if link.startswith("docs/")}
    # THEN every page of docs/ is reachable from it
    assert linked == {f"docs/{page.name}" for page in (REPO / "docs").glob("*.md")}


def test_the_readme_is_short_and_shows_the_two_commands():
    # GIVEN the README
    text = (REPO / "README.md").read_text(encoding="utf-8")
    # WHEN it is read
    lines = text.splitlines()
    # THEN it fits a five-minute read and still shows the commands a newcomer needs (.ci/run runs make test)
    assert len(lines) <= README_MAX_LINES
    assert "make run" in text
    assert "make test" in text


def test_a_link_out_of_the_repository_is_found():
    # GIVEN a page that links above the repository's root, to a missing file and to a missing heading
    page = REPO / "docs" / "architecture.md"
    text = ("See [design](../../shared/DESIGN.md), [gone](no-such-file.md), [heading](../README.md#no-such-heading),"
            " `../../shared/DESIGN.md` and [site](https://example.com).\n")
    # WHEN its links are checked as if it were that page
    found = problems_of(page, text)
    # THEN each bad link is reported, and the external one is left alone
    assert [problem.split(": ", 1)[1] for problem in found] == [
        "../../shared/DESIGN.md: points outside the repository",
        "no-such-file.md: no such file in the repository",
        "../README.md#no-such-heading: README.md has no heading #no-such-heading",
        "`../../shared/DESIGN.md`: names a file outside the repository",
    ]

