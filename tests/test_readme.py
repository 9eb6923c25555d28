"""The README is a landing page (small, names the two commands and fast-mode Lab), and every relative link and
image in README.md and docs/*.md points to a file that exists (and to a heading that exists, for #anchors)."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|^\[[^\]]+\]:\s*(\S+)", re.M)


def slug(heading: str) -> str:
    """GitHub's (and MyST's) anchor of a markdown heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m[1] or "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {slug(h) for h in re.findall(r"^#{1,6}\s+(.*)$", text, re.M)}


def test_readme_is_a_landing_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.encode()) <= 10_000, f"README.md is {len(text.encode())} bytes; move detail to docs/"
    for needed in ("make workbook", "make test", "make lab-fast", "notebook 00", "notebooks/00_foundations.ipynb"):
        assert needed in text, needed
    assert "lab-fast:" in (ROOT / "Makefile").read_text()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold no links
    problems = []
    for m in LINK.finditer(text):
        target = m[1] or m[2]
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not followed (no network in tests)
        path, _, fragment = unquote(target).partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            problems.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            problems.append(f"{target}: no heading #{fragment} in {dest.name}")
        elif ROOT not in dest.parents and dest != ROOT:
            problems.append(f"{target}: outside the repository")
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)
