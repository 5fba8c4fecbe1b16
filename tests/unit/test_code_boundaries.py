"""What may import what, read from the sources: the shipped code (app.py, chalicelib/) needs nothing that
is not shipped; tests and benchmarks share their pieces through devkit/, never through each other; and
devkit/moto.py is the only place that starts a moto server."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["app.py", "chalicelib"]
NOT_SHIPPED = {"bench", "devkit", "infra", "tests"}
MOTO_SERVERS = {"moto.server", "infra.moto_server"}


def sources(*places: str) -> list[Path]:
    found = []
    for place in places:
        path = ROOT / place
        found.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return found


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every module the file imports, wherever the import statement is."""
    packages = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.split(".")[0])
    return packages


def importers(places: list[str], forbidden: set[str]) -> dict[str, set[str]]:
    return {str(path.relative_to(ROOT)): imported & forbidden for path in sources(*places)
            if (imported := imported_packages(path)) & forbidden}


def test_the_shipped_code_imports_nothing_that_is_not_shipped():
    # GIVEN app.py and chalicelib/, all that Chalice packages for Lambda
    # WHEN their imports are read
    # THEN none reaches the tests, the benchmarks, the development kit or the infrastructure scripts
    assert importers(SHIPPED, NOT_SHIPPED) == {}


@pytest.mark.parametrize("place, forbidden", [
    ("tests", {"bench"}),
    ("bench", {"tests"}),
    ("devkit", {"bench", "tests"}),
])
def test_tests_and_benchmarks_share_pieces_only_through_devkit(place, forbidden):
    # GIVEN the tests, the benchmarks or the development kit
    # WHEN their imports are read
    # THEN tests and benchmarks do not import each other, and devkit imports neither
    assert importers([place], forbidden) == {}


def test_one_place_starts_a_moto_server():
    # GIVEN every Python file of the repository (but this one)
    # WHEN the strings naming a moto server module to run are looked for
    naming = sorted(str(path.relative_to(ROOT)) for path in sources(*SHIPPED, *sorted(NOT_SHIPPED))
                    if path != Path(__file__).resolve()
                    and any(isinstance(node, ast.Constant) and node.value in MOTO_SERVERS
                            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))))

    # THEN only devkit/moto.py does: the local stack, the tests and the benchmarks all start theirs there
    assert naming == ["devkit/moto.py"]


def imported_modules(path: Path) -> set[str]:
    """The full name of every module the file imports, wherever the import statement is (``from pkg
    import name`` counts as ``pkg.name``, which may be a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_imports_a_test_module():
    # GIVEN every Python file of the repository
    # WHEN their imports are read
    # THEN none imports a test module (tests/**/test_*.py): what tests share lives in helper modules
    #      (tests/integration/hotline.py, claim_form.py, agents.py, workloads.py, callbacks.py,
    #      tests/unit/dates.py, tests/fakes.py) and fixtures in the conftest.py files
    def is_test_module(name: str) -> bool:
        return name.startswith("tests.") and name.rsplit(".", 1)[1].startswith("test_")

    wrong = {str(path.relative_to(ROOT)): sorted(filter(is_test_module, imported_modules(path)))
             for path in sources(*SHIPPED, *sorted(NOT_SHIPPED))}
    assert {path: names for path, names in wrong.items() if names} == {}
