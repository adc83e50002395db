"""The package's layering: imports point one way, at any depth (deferred imports too).

The layers, top to bottom: each may import only the layers below it (and itself). The
command line is imported by nothing; inside a layer the modules import each other without a
cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS = [
    "cli",
    "bundle",
    "planning",
    "engines",
    "visualize",
    "metrics",
    "inferers",
    "transforms",
    "losses",
    "data",
    "networks",
    "messages",  # the root modules: the words of every message, ranks
    "ranks",
]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """medunet modules ``path`` imports anywhere in it (module level, in functions, under
    ``TYPE_CHECKING``); ``from package import submodule`` depends on the submodule."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:  # relative: resolved against the module's package
                here = _module(path)
                package = here if path.stem == "__init__" else here.rpartition(".")[0]
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, name] if name else base)
            if name.startswith("medunet"):
                subs = {f"{name}.{a.name}" for a in node.names} & modules
                found |= subs or {name}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("medunet")}
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _graph() -> dict[str, set[str]]:
    paths = {_module(p): p for p in (ROOT / "medunet").rglob("*.py")}
    return {name: _imports(path, set(paths)) & set(paths) for name, path in paths.items()}


def test_every_module_has_a_layer():
    layers = {_layer(m) for m in _graph() if m not in ("medunet", "medunet.__main__")}
    assert layers <= set(LAYERS), f"add {sorted(layers - set(LAYERS))} to LAYERS"


def test_imports_point_down_the_layers():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = []
    for module, deps in _graph().items():
        here = _layer(module)
        if here not in rank:  # medunet/__init__, __main__: the entry points
            continue
        for dep in deps:
            there = _layer(dep)
            if there is None or there == here:
                continue
            if rank[there] < rank[here]:
                upward.append(f"{module} -> {dep}")
    assert not upward, "imports from a lower layer to a higher one: " + ", ".join(sorted(upward))


def test_nothing_outside_the_command_line_imports_it():
    sources = [
        p for p in (ROOT / "medunet").rglob("*.py") if "cli" not in p.parts and p.stem != "__main__"
    ]
    sources += list((ROOT / "apps").rglob("*.py"))
    modules = set(_graph())
    offenders = [
        str(p.relative_to(ROOT))
        for p in sources
        if any(m == "medunet.cli" or m.startswith("medunet.cli.") for m in _imports(p, modules))
    ]
    assert not offenders, offenders


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_import_cycles_at_any_depth():
    """A package's ``__init__`` gathers its modules: it is left out as an importer, so a
    module importing its own package's ``__init__`` still counts."""
    graph = {m: deps for m, deps in _graph().items() if not (ROOT / m.replace(".", "/")).is_dir()}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_find_what_they_look_for(tmp_path):
    """The cycle finder finds a cycle, and a deferred import is seen."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    src = tmp_path / "mod.py"
    src.write_text("def f():\n    from medunet.bundle import training\n")
    assert _imports(src, {"medunet.bundle.training"}) == {"medunet.bundle.training"}
