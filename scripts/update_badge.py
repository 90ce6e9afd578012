"""Rewrite the Binder badge and every Binder link in README.md from binder/repository.txt.

The GitHub owner/name is the first line of binder/repository.txt: change it there, then run
`python scripts/update_badge.py`. tests/test_badge.py checks that README.md is up to date.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BADGE_PREFIX = "[![Binder](https://mybinder.org/badge_logo.svg)]"
START_NOTEBOOK = "notebooks/00_how_to_use.ipynb"
BINDER_REPO_LINK = re.compile(r"https://mybinder\.org/v2/gh/[^/\s)]+/[^/\s)]+/main")


def repository() -> str:
    repo = (ROOT / "binder" / "repository.txt").read_text().splitlines()[0].strip()
    owner, name = repo.split("/")  # exactly owner/name
    return f"{owner}/{name}"


def badge_line(repo: str) -> str:
    url = f"https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/{START_NOTEBOOK}"
    return f"{BADGE_PREFIX}({url})"


def updated_readme(text: str, repo: str) -> str:
    lines = text.splitlines(keepends=True)
    badges = [i for i, line in enumerate(lines) if line.startswith(BADGE_PREFIX)]
    if len(badges) != 1:
        raise SystemExit(f"README.md needs exactly one line starting with {BADGE_PREFIX}")
    lines[badges[0]] = badge_line(repo) + "\n"
    return BINDER_REPO_LINK.sub(f"https://mybinder.org/v2/gh/{repo}/main", "".join(lines))


if __name__ == "__main__":
    README.write_text(updated_readme(README.read_text(), repository()))
    print(f"README.md badge -> {badge_line(repository())}")
