"""README.md's Binder badge must match binder/repository.txt (see scripts/update_badge.py)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("update_badge", ROOT / "scripts" / "update_badge.py")
update_badge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(update_badge)


def test_badge_link_format():
    assert update_badge.badge_line("someone/hyperviz").endswith(
        "(https://mybinder.org/v2/gh/someone/hyperviz/main"
        "?urlpath=lab/tree/notebooks/00_how_to_use.ipynb)"
    )


def test_readme_badge_is_up_to_date():
    readme = update_badge.README.read_text()
    expected = update_badge.updated_readme(readme, update_badge.repository())
    assert readme == expected, "run: python scripts/update_badge.py"


def test_every_notebook_is_in_the_readme_map_with_its_binder_link():
    readme = update_badge.README.read_text()
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert notebooks
    for name in notebooks:
        assert f"](notebooks/{name})" in readme, f"{name} is missing from the README's map"
        assert f"?urlpath=lab/tree/notebooks/{name})" in readme, f"{name} has no Binder link"


def test_a_fork_rewrites_every_binder_link():
    readme = update_badge.README.read_text()
    forked = update_badge.updated_readme(readme, "teacher/hyperviz-fork")
    links = update_badge.BINDER_REPO_LINK.findall(forked)
    assert len(links) > 1 and set(links) == {
        "https://mybinder.org/v2/gh/teacher/hyperviz-fork/main"
    }
