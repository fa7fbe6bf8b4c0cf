"""The package's import graph runs one way: no circle, and no module imports the top package.

Every ``import`` statement in ``src/dynaplan`` is read (module level and inside functions alike;
a function-level import still makes one module depend on another), so a circle hidden in a
function is found too. ``importlib.import_module`` by name is the documented way round a circle
(``experiments.kinds.load_kinds``, ``experiments.reproductions.load_all``) and is not an edge.
"""

import ast
from pathlib import Path

import dynaplan

ROOT = Path(dynaplan.__file__).parent


def absolute(package: str, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import ...`` written in ``package``."""
    if level == 0:
        return module or ""
    base = package.split(".")
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def import_graph() -> dict[str, set[str]]:
    mods: dict[str, Path] = {}
    for f in ROOT.rglob("*.py"):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        package = m if f.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                # ``from pkg import submodule`` depends on the submodule; ``from pkg import name``
                # on the package; a relative import is resolved against the importing package
                module = absolute(package, node.level, node.module)
                subs = [f"{module}.{a.name}" for a in node.names]
                targets = [t for t in subs if t in mods]
                if len(targets) < len(subs):
                    targets.append(module)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[m] |= {t for t in targets if t in mods and t != m}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_resolve_to_absolute_names():
    assert absolute("dynaplan.core", 1, "loop") == "dynaplan.core.loop"
    assert absolute("dynaplan.planning", 2, "rng") == "dynaplan.rng"
    assert absolute("dynaplan.planning", 1, None) == "dynaplan.planning"
    assert absolute("dynaplan", 0, "dynaplan.rng") == "dynaplan.rng"


def test_no_import_circle():
    assert cycles(import_graph()) == []


def test_only_the_cli_imports_the_top_package():
    graph = import_graph()
    assert "dynaplan.experiments.kinds" in graph  # the scan sees the package
    upward = sorted(m for m, targets in graph.items() if "dynaplan" in targets and m != "dynaplan.cli")
    assert upward == []


#: The layers of CONTRIBUTING.md's diagram, bottom first: a module may import its own layer and
#: the layers below it, never one above. Every subpackage and top-level module must be placed.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core", "_cache", "_jit", "_stamp", "_exp", "_version", "rng", "stats", "memory"}),
    frozenset({"envs", "features"}),
    frozenset({"models", "neural"}),
    frozenset({"planning"}),
    frozenset({"search"}),
    frozenset({"agents", "testing"}),
    frozenset({"plot"}),
    frozenset({"experiments"}),
    frozenset({"explore", "extend"}),
    frozenset({"cli", ""}),  # "": the top package, dynaplan/__init__.py
)


def layer_of(module: str) -> int:
    """The index in ``LAYERS`` of ``dynaplan.<part>...``; KeyError for a part no layer holds."""
    part = module.split(".")[1] if "." in module else ""
    for i, names in enumerate(LAYERS):
        if part in names:
            return i
    raise KeyError(f"{module}: {part!r} is in no layer of LAYERS (place it, and in CONTRIBUTING's diagram)")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every edge ``a -> b`` where ``b``'s layer is above ``a``'s."""
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets if layer_of(b) > layer_of(a))


def test_every_module_is_in_a_layer():
    for module in import_graph():
        layer_of(module)


def test_no_layer_imports_upward():
    assert upward_imports(import_graph()) == []


def test_an_upward_import_is_found():
    """Planted edges from the bottom layer up: core -> agents, the loop -> experiments, the loop -> a world
    (the loops step any registered world through ``core.worlds``, never ``envs`` itself)."""
    graph = import_graph()
    planted = {**graph, "dynaplan.core.records": graph["dynaplan.core.records"] | {"dynaplan.agents.base"}}
    assert upward_imports(planted) == ["dynaplan.core.records -> dynaplan.agents.base"]
    planted = {**graph, "dynaplan.core.loop": graph["dynaplan.core.loop"] | {"dynaplan.experiments.batch"}}
    assert upward_imports(planted) == ["dynaplan.core.loop -> dynaplan.experiments.batch"]
    planted = {**graph, "dynaplan.core.loop": graph["dynaplan.core.loop"] | {"dynaplan.envs.tabular"}}
    assert upward_imports(planted) == ["dynaplan.core.loop -> dynaplan.envs.tabular"]


def test_the_layers_are_the_diagram_in_contributing():
    """CONTRIBUTING.md's diagram (its first code block) is ``LAYERS``: one line per layer, top first,
    naming each package (``name/``) and module (``name.py``) of the layer."""
    import re

    text = (Path(__file__).parents[1] / "CONTRIBUTING.md").read_text()
    diagram = text.split("```")[1]
    found = []
    for line in diagram.splitlines():
        names = re.findall(r"[\w/]+\.py|\w+/", line)
        if names:
            found.append(frozenset("" if n == "dynaplan/__init__.py" else n.removesuffix(".py").rstrip("/")
                                   for n in names))
    assert found == list(reversed(LAYERS))
