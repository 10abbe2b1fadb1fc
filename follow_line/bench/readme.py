"""Refresh the generated sections of a Markdown page from the project's own result files.

A section sits between `<!-- BEGIN name -->` and `<!-- END name -->`; `python -m
follow_line.bench.readme PAGE.md name=FILE ...` replaces its body in PAGE.md with FILE's text
(the Makefile: README.md's `seed` table, docs/results.md, docs/ros.md, docs/deployment.md).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from follow_line.files import write_text_atomic


def replace_section(text: str, name: str, body: str, page: str = "README") -> str:
    """`text` (of `page`) with the body of section `name` replaced."""
    tag = re.escape(name)
    pattern = re.compile(rf"(<!-- BEGIN {tag} -->\n).*?(<!-- END {tag} -->)", re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{page} has no section {name!r} (<!-- BEGIN {name} --> ... END)")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), text)


def main(argv: list[str]) -> int:
    """Usage: python -m follow_line.bench.readme PAGE.md name=FILE [name=FILE ...]."""
    readme = Path(argv[0])
    text = readme.read_text()
    for item in argv[1:]:
        name, _, path = item.partition("=")
        text = replace_section(text, name, Path(path).read_text(), page=str(readme))
    write_text_atomic(readme, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
