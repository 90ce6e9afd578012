"""Every course notebook reads as part of a course: header, paper link, links both ways."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def markdown(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_header_names_the_survey_section_and_time_and_links_the_paper(path):
    header = markdown(path)[0]
    assert header.startswith(f"# {path.stem[:2]} ")
    assert "**Survey:**" in header and "§" in header
    assert "**Time to run:**" in header
    assert "https://arxiv.org/abs/2306.06955" in header


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_previous_and_next_links_top_and_bottom(path):
    cells = markdown(path)
    index = NOTEBOOKS.index(path)
    wanted = [n.name for n in NOTEBOOKS[max(index - 1, 0) : index + 2] if n != path]
    for cell in (cells[0], cells[-1]):
        linked = re.findall(r"\]\((\d\d_[a-z_]+\.ipynb)\)", cell)
        assert set(wanted) <= set(linked), f"{path.name}: {wanted} not all linked in {cell[:80]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_have_hidden_solutions(path):
    text = "\n".join(markdown(path))
    assert text.count("<details>") >= 1 and text.count("<details>") == text.count("</details>")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_picture_has_alt_text(path):
    """Pictures are shown with `show_plot(alt)` or `show_figure(fig, alt)`, not plt.show()."""
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert not [c.source for c in cells if "plt.show()" in c.source]
    for cell in cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                alt = output.get("metadata", {}).get("image/png", {}).get("alt", "")
                assert alt.strip(), f"{path.name}: a picture without alt text, from {cell.source!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_end_says_to_shut_the_kernel_down(path):
    """JupyterLab keeps a closed tab's kernel running; on Binder every kernel shares 1-2 GB."""
    assert "Shut Down Kernel" in markdown(path)[-1]
