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
