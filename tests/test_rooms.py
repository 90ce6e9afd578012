"""The library's rooms: core at the top of hyperviz/, then viz/, then lessons/.

Imports run lessons → viz → core. The core never imports plotly or ipywidgets (not even
inside a function); viz never imports a lesson; no lesson imports another lesson.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hyperviz"
WIDGET_LIBRARIES = ("plotly", "ipywidgets", "anywidget")
MAX_LINES = 400


def room_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else "core"


def imported_modules(path: Path) -> list[str]:
    """Every module a file imports, anywhere in it (module level or inside a function)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "hyperviz":  # `from hyperviz import progress` names a module
                names += [f"hyperviz.{alias.name}" for alias in node.names]
    return names


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_there_are_three_rooms():
    rooms = {room_of(path) for path in MODULES}
    assert rooms == {"core", "viz", "lessons"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_lessons_to_viz_to_core(path: Path):
    room = room_of(path)
    for module in imported_modules(path):
        top = module.split(".")[0]
        if room == "core":
            assert top not in WIDGET_LIBRARIES, f"core module {path.name} imports {module}"
            assert not module.startswith(("hyperviz.viz", "hyperviz.lessons")), (
                f"core module {path.name} imports {module}"
            )
        if room == "viz":
            assert not module.startswith("hyperviz.lessons"), f"viz imports {module}"
        if room == "lessons":
            own = path.stem.removesuffix("_dashboard")
            if module.startswith("hyperviz.lessons."):
                other = module.split(".")[2].removesuffix("_dashboard")
                assert other == own, f"lesson {path.name} imports another lesson: {module}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_the_size_limit(path: Path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it (limit {MAX_LINES})"


def test_lesson_modules_open_with_their_notebook_and_survey_section():
    for path in (PACKAGE / "lessons").glob("*.py"):
        if path.name == "__init__.py":
            continue
        first = ast.get_docstring(ast.parse(path.read_text())).splitlines()[0]
        assert first.startswith("Notebook "), f"{path.name}: {first!r}"
        assert "§" in first or "survey" in first, f"{path.name} names no survey section"


def test_importing_the_core_loads_no_widget_library():
    code = (
        "import sys, hyperviz, hyperviz.evaluation, hyperviz.chunk_layout, hyperviz.gradients\n"
        f"print(sorted(m for m in {WIDGET_LIBRARIES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
