"""The documentation hangs together.

README.md is a short front page, every relative link of README.md, CHANGELOG.md and
docs/*.md reaches a file of the repository (and a heading of it, for a `#anchor`), and every
generated section the Makefile writes has its markers in the page it writes to.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose(text: str) -> str:
    """`text` without its fenced code blocks (a link-like string in code is not a link)."""
    lines, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            lines.append(line)
    return "\n".join(lines)


def links(page: Path) -> list[str]:
    """Every link target of a Markdown page, inline code spans excluded."""
    text = re.sub(r"`[^`\n]*`", "", prose(page.read_text()))
    return LINK.findall(text)


def anchors(page: Path) -> set[str]:
    """The `#anchor`s of a page's headings, as GitHub makes them (duplicates get -1, -2...)."""
    seen: dict[str, int] = {}
    out = set()
    for line in prose(page.read_text()).splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_the_checks_see_links_and_headings():
    assert "docs/guide.md" in links(README)
    assert {"exit-codes", "what-is-guaranteed-and-what-is-not"} <= anchors(
        ROOT / "docs" / "reliability.md")


def test_the_pages_exist():
    for name in ("guide", "ros", "networks", "deployment", "results", "reliability",
                 "architecture"):
        assert (ROOT / "docs" / f"{name}.md").is_file(), name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_of_the_repository(page):
    for target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        assert not path.startswith(("/", "~")), f"{page.name}: {target} is not relative"
        file = (page.parent / path).resolve() if path else page
        assert file.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
        assert file.exists(), f"{page.name}: {target} does not exist"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{page.name}: {target}: no such heading"


def test_the_readme_is_a_front_page():
    lines = README.read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines (at most 300)"
    first = "\n".join(lines[:40])
    assert "make demo" in first and "make test" in first
    commands = [line.split("#")[0].strip() for line in lines[:40] if line.startswith("make ")]
    assert commands[:2] == ["make demo", "make test"], "the README's first commands"
    assert "~/" not in README.read_text(), "README.md points outside the repository"


def makefile_writes() -> dict[Path, list[str]]:
    """{page: [section names]} of every `python -m follow_line.bench.readme` in the Makefile."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    writes: dict[Path, list[str]] = {}
    for m in re.finditer(r"-m follow_line\.bench\.readme\s+(\S+)((?:\s+[\w-]+=\S+)+)", text):
        names = [item.partition("=")[0] for item in m.group(2).split()]
        writes.setdefault(ROOT / m.group(1), []).extend(names)
    return writes


def test_every_section_the_makefile_writes_has_its_markers_in_that_page():
    writes = makefile_writes()
    assert ROOT / "README.md" in writes and "seed" in writes[ROOT / "README.md"]
    for page, names in writes.items():
        text = page.read_text()
        for name in names:
            begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
            assert text.count(begin) == 1 and text.count(end) == 1, f"{page.name}: {name}"
            assert text.index(begin) < text.index(end), f"{page.name}: {name}"


def test_no_generated_section_is_left_that_nothing_writes():
    written = {(page, name) for page, names in makefile_writes().items() for name in names}
    for page in PAGES:
        for name in re.findall(r"^<!-- BEGIN (\S+) -->$", page.read_text(), re.MULTILINE):
            assert (page, name) in written, f"{page.name}: nothing writes section {name}"


def test_make_help_lists_every_target():
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("no make")
    text = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", text, re.MULTILINE).group(1).split()
    listed = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    shown = {line.split()[1]: line for line in listed.splitlines()}
    assert sorted(shown) == sorted(phony), listed
    assert all(len(line.split()) > 2 for line in shown.values()), "a target without words"
