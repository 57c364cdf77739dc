"""The import floors of the project: no circle, and the steps stand on the floor, not each other."""

from __future__ import annotations

import ast
from pathlib import Path

import action
import statemachine

ROOT = Path(action.__file__).parent.parent
FLOOR = {"action.job", "action.lane_files"}
# The floors of docs/adr/0004, bottom first; a module not named here is an adapter (floor 3).
FLOORS: dict[int, set[str]] = {
    2: {"action", "action.errors", "action.logs", "action.config", "action.progress",
        "action.tags", "action.digests", "action.proc", "action.runner", "action.retry",
        "action.output"},
    4: {"action.job", "action.lane_files", "action.report", "action.window"},
    6: {"action.pipeline"},
    7: {"action.github_run", "action.rehearse", "action.rehearsal_world", "action.cli"},
}


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def project_modules() -> dict[str, Path]:
    paths = [*Path(action.__file__).parent.rglob("*.py"),
             *Path(statemachine.__file__).parent.rglob("*.py")]
    return {module_name(p): p for p in paths}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every project module `path` imports, also under TYPE_CHECKING and inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found - {module_name(path)}


def graph() -> dict[str, set[str]]:
    known = project_modules()
    return {name: imports(path, known) for name, path in known.items()}


def cycle_from(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    """A path of imports from `start` back to itself, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(edges[node]):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_module_imports_itself_round_a_circle():
    """No import circle among the project's modules (TYPE_CHECKING imports count too)."""
    edges = graph()
    circles = [c for c in (cycle_from(name, edges) for name in sorted(edges)) if c]
    assert not circles, " -> ".join(circles[0])


def test_the_cycle_finder_finds_a_circle():
    """The check above can fail: a two-module circle is found."""
    assert cycle_from("a", {"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def floor_of(module: str) -> int:
    if module.startswith("statemachine"):
        return 1
    if module.startswith("action.steps"):
        return 5
    return next((n for n, names in FLOORS.items() if module in names), 3)


def test_no_module_imports_from_a_floor_above_its_own():
    """Imports go down the floors of docs/adr/0004 (or stay on one), never up."""
    up = [f"{name} (floor {floor_of(name)}) imports {dep} (floor {floor_of(dep)})"
          for name, deps in sorted(graph().items()) for dep in sorted(deps)
          if floor_of(dep) > floor_of(name)]
    assert not up, up


def test_steps_import_neither_the_pipeline_nor_each_other():
    """A step stands on the floor (job, lane_files), the adapters and the core."""
    edges = graph()
    steps = {name for name in edges if name.startswith("action.steps.")}
    for step in steps:
        wrong = {m for m in edges[step] if m in steps or m == "action.pipeline"}
        assert not wrong, f"{step} imports {sorted(wrong)}"


def test_the_floor_reaches_up_to_no_step():
    """The job context and the lane's bytes import no step and not the pipeline."""
    edges = graph()
    for name in FLOOR:
        up = {m for m in edges[name] if m.startswith("action.steps") or m == "action.pipeline"}
        assert not up, f"{name} imports {sorted(up)}"


ENVIRONMENT = {"environ", "environb", "getenv", "putenv", "unsetenv"}


def reads_environment(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return (isinstance(node.value, ast.Name) and node.value.id == "os"
                and node.attr in ENVIRONMENT)
    if isinstance(node, ast.ImportFrom):
        return node.module == "os" and bool({a.name for a in node.names} & ENVIRONMENT)
    return False


def environment_reads(path: Path) -> list[int]:
    """Lines of `path` that touch the process environment (os.environ, os.getenv, ...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted(node.lineno for node in ast.walk(tree)
                  if reads_environment(node))


def test_only_config_reads_the_process_environment():
    """os.environ is read in action/config.py only; everyone else is handed a frozen copy."""
    reads = {name: environment_reads(path) for name, path in project_modules().items()
             if name != "action.config"}
    assert {name: lines for name, lines in reads.items() if lines} == {}


def test_the_environment_finder_finds_a_read(tmp_path):
    """The check above can fail: both spellings of a read are found."""
    path = tmp_path / "m.py"
    path.write_text("import os\nfrom os import getenv\nx = os.environ.get('A')\n")
    assert environment_reads(path) == [2, 3]


MAX_FUNCTION_LINES = 40  # issue 14's measures: a function a newcomer reads on one screen,
MAX_MODULE_LINES = 450  # and a module one concern fills


def test_no_module_is_longer_than_one_concern_needs():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines())
             for name, path in project_modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}



def long_functions(paths: list[Path], root: Path = ROOT) -> list[str]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(root)}: {node.name} ({lines} lines)")
    return found


def test_no_function_is_longer_than_a_screen():
    assert long_functions(sorted(project_modules().values())) == []


def test_the_length_check_finds_a_long_function(tmp_path):
    long = tmp_path / "long.py"
    long.write_text("def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES, encoding="utf-8")
    fine = tmp_path / "fine.py"
    fine.write_text("def g():\n" + "    x = 1\n" * (MAX_FUNCTION_LINES - 1), encoding="utf-8")
    expected = f"long.py: f ({MAX_FUNCTION_LINES + 1} lines)"
    assert long_functions([long, fine], tmp_path) == [expected]
