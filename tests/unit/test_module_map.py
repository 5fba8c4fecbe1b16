"""The shipped code as a map, read from the sources: modules named by what they hold, layers that point
one way, no import cycle, and no module reaching into another's private names."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"
# Lower layers never import upper ones: the domain knows no storage, no service and no handler.
LAYERS = {
    "domain": {"adapters", "services", "api", "consumers", "bootstrap", "schemas"},
    "schemas": {"adapters", "services", "api", "consumers", "bootstrap"},
    "services": {"adapters", "api", "consumers", "bootstrap"},
    "adapters": {"api", "consumers", "bootstrap"},
}
# Names that say where a module sits rather than what it holds.
VAGUE_NAMES = {"public", "notify", "utils", "helpers", "misc", "common"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def runtime_imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    """Every import statement, at any depth (lazy ones too), except those only for the type checker."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return [node for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in type_only]


def chalicelib_targets(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The chalicelib modules an import statement loads (``from pkg import module`` names the module)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in MODULES}
    if node.level or not node.module or not node.module.startswith("chalicelib"):
        return set()
    return {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names}


def import_graph() -> dict[str, set[str]]:
    return {name: {t for node in runtime_imports(path) for t in chalicelib_targets(node) if t != name}
            for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_among_the_shipped_modules():
    # GIVEN every chalicelib module's imports, lazy ones included (only type-checking imports left out)
    # WHEN the import graph is searched for cycles
    # THEN there is none (the OpenAPI route and its document builder once imported each other)
    assert cycles(import_graph()) == []


def test_the_cycle_search_finds_a_cycle():
    # GIVEN a graph with a two-module loop and a tail
    # WHEN searched
    # THEN the loop is reported, the tail is not
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_lower_layers_never_import_upper_ones():
    # GIVEN each layer's modules
    # WHEN their imports are read
    # THEN none reaches a layer above it (the domain once imported the adapters' resource names)
    graph = import_graph()
    wrong = {name: sorted(t for t in targets if t.split(".")[1] in LAYERS[name.split(".")[1]])
             for name, targets in graph.items() if name.count(".") >= 2 and name.split(".")[1] in LAYERS}
    assert {name: targets for name, targets in wrong.items() if targets} == {}


def test_no_module_reaches_into_another_modules_private_names():
    # GIVEN every shipped module, app.py and the infrastructure code
    # WHEN their imports, and their attribute reads of the project's modules they import, are read
    # THEN no name starting with "_" is taken from another module (a private name is the module's own)
    reaches = []
    for path in [*MODULES.values(), ROOT / "app.py", *sorted((ROOT / "infra").rglob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        modules = set()  # local names bound to a chalicelib module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
                reaches += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                            if a.name.startswith("_") and not a.name.startswith("__")]
                modules.update(a.asname or a.name for a in node.names if f"{node.module}.{a.name}" in MODULES)
            elif isinstance(node, ast.Import):
                modules.update(a.asname for a in node.names if a.asname and a.name in MODULES)
        reaches += [f"{path.name}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
                    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules and node.attr.startswith("_") and not node.attr.startswith("__")]
    assert reaches == []


def test_modules_are_named_by_what_they_hold():
    # GIVEN every shipped module's file name
    # WHEN compared with names that only say where a module sits ("public", "notify", "utils")
    # THEN none is used (the customer's channel is "claim_form", partner callbacks "partner_notices")
    assert sorted(str(p.relative_to(ROOT)) for p in MODULES.values() if p.stem in VAGUE_NAMES) == []


def test_one_name_per_object_in_the_container():
    # GIVEN the composition root
    # WHEN the real container is built (in mock_aws: nothing is called)
    # THEN no adapter or service is reachable under two attribute names
    from moto import mock_aws

    from chalicelib import bootstrap
    from chalicelib.settings import get_settings

    with mock_aws():
        built = bootstrap.build_aws(get_settings())
        objects = {name: value for name, value in vars(built).items()
                   if not isinstance(value, (str, int, float, bool, type(None))) and name != "settings"}
        by_identity: dict[int, list[str]] = {}
        for name, value in objects.items():
            by_identity.setdefault(id(value), []).append(name)
    assert [names for names in by_identity.values() if len(names) > 1] == []


def test_every_port_is_checked_against_what_stands_for_it():
    # GIVEN the Protocols of services/ports.py
    # WHEN the container's fields (the real adapters) and tests/port_checks.py (the fakes) are read,
    #      with the ports those extend or return
    # THEN every port is among them: mypy verifies each against an implementation
    tree = ast.parse((PACKAGE / "services" / "ports.py").read_text(encoding="utf-8"))
    protocols = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)
                 and any(ast.unparse(base) == "Protocol" for base in node.bases)}
    from chalicelib.bootstrap import Container

    checked = {str(annotation) for annotation in Container.__annotations__.values()}
    checked |= {node.attr for node in ast.walk(ast.parse((ROOT / "tests" / "port_checks.py").read_text()))
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ports"}
    pending = [name for name in checked if name in protocols]
    while pending:  # a checked port checks the ports it extends and the ones its methods answer
        node = protocols[pending.pop()]
        named = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & set(protocols)
        pending += sorted(named - checked)
        checked |= named
    assert sorted(set(protocols) - checked) == []
