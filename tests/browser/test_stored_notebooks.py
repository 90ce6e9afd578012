"""Each stored notebook, opened in JupyterLab before anything runs: what a reader sees first.

Every stored matplotlib picture (`image/png` output) must show as a loaded `<img>`, and no
output may show a widget's raw text form (`HBox(children=...`, `IntProgress(...`,
`FigureWidget(...`): the stored notebook has no widget state, so a widget output that only
has its repr as text shows that repr. One screenshot per notebook, at laptop size, goes to
`artifacts/screenshots/<notebook>-stored.png` (at the first picture), and
`<notebook>-stored-raw.png` (at the first raw widget text, if any).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lab_page import console_errors, open_notebook, screenshot_at

if TYPE_CHECKING:  # playwright is only needed when the browser tests run
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = Path(os.environ.get("HV_NOTEBOOKS_DIR", REPO / "notebooks"))
SCREENSHOTS = REPO / "artifacts" / "screenshots"
IMAGES_MS = 20_000  # every stored picture rendered and loaded

OUTPUTS = ".jp-NotebookPanel .jp-OutputArea-output"
PICTURES = ".jp-NotebookPanel .jp-OutputArea-output.jp-RenderedImage img"
# The text form of ipywidgets and plotly widgets: `HBox(children=(IntProgress(value=0, ...`.
RAW_WIDGET = re.compile(
    r"\b(?:[HV]?Box|GridBox|Accordion|Tab)\(children="
    r"|\b(?:Int|Float)(?:Progress|Slider|RangeSlider|Text)\("
    r"|\bFigureWidget\("
    r"|\b(?:Dropdown|SelectionSlider|Label|HTML|Output|Button|Checkbox)\("
    r"(?:value|options|description|layout|children|outputs)="
)
LOADED = """imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"""


def stored_pictures(notebook: dict) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.get("cells", [])
        for output in cell.get("outputs", [])
    )


def notebooks() -> list[str]:
    if not NOTEBOOKS_DIR.is_dir():
        return []
    return [p.name for p in sorted(NOTEBOOKS_DIR.glob("*.ipynb"))]


def wait_for_pictures(page: Page, expected: int) -> list[bool]:
    """The loaded state of each picture once `expected` are shown (or the time is up)."""
    deadline = time.monotonic() + IMAGES_MS / 1000
    while True:
        loaded = page.locator(PICTURES).evaluate_all(LOADED)
        if (len(loaded) >= expected and all(loaded)) or time.monotonic() > deadline:
            return loaded
        page.wait_for_timeout(250)


@pytest.mark.parametrize("name", notebooks(), ids=lambda n: Path(n).stem)
def test_stored_notebook_shows_pictures_and_no_widget_text(lab_page: Page, lab, name: str):
    page = lab_page
    stem = Path(name).stem
    expected = stored_pictures(json.loads((NOTEBOOKS_DIR / name).read_text()))
    open_notebook(page, lab.url, name)
    loaded = wait_for_pictures(page, expected)
    if loaded:
        screenshot_at(page, page.locator(PICTURES).first, SCREENSHOTS / f"{stem}-stored.png")

    outputs = page.locator(OUTPUTS)
    texts = outputs.all_inner_texts()
    raw = [i for i, text in enumerate(texts) if RAW_WIDGET.search(text)]
    if raw:
        screenshot_at(page, outputs.nth(raw[0]), SCREENSHOTS / f"{stem}-stored-raw.png")

    problems = []
    if len(loaded) != expected or not all(loaded):
        problems.append(
            f"{expected} stored pictures, {len(loaded)} shown, {loaded.count(False)} not loaded"
        )
    problems += [f"raw widget text in output {i + 1}: {texts[i].strip()[:160]!r}" for i in raw]
    problems += [f"browser console: {e}" for e in console_errors(page)]
    assert not problems, f"{name}, as stored:\n  " + "\n  ".join(problems)
