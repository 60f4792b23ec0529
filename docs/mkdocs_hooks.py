"""MkDocs hooks for glassnet's site (mkdocs.yml `hooks:`; never imported by the library).

The contributing page is CONTRIBUTING.md itself, read at build time so that the two never
drift apart. Its links are relative to the repository root (``docs/architecture.md``); on the
site, which is built from docs/, they become relative to the page (``architecture.md``).

The repository's Markdown is written for GitHub, which starts a list right after a line of text;
Python-Markdown needs a blank line first, else the items run into the paragraph. One is added.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")


def _blank_line_before_lists(markdown: str) -> str:
    """A blank line between a line of text and a list item right under it (outside code)."""
    lines, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        previous = lines[-1] if lines else ""
        if (not fenced and _LIST_ITEM.match(line) and previous.strip() and not _LIST_ITEM.match(previous)
                and not previous.startswith(("|", "#", " ", ">"))):
            lines.append("")
        lines.append(line)
    return "\n".join(lines)


def on_page_markdown(markdown: str, *, page: Any, **kwargs: Any) -> str:
    """The contributing page's Markdown is CONTRIBUTING.md, its ``docs/`` links made site-relative;
    every page's lists get the blank line Python-Markdown needs."""
    if page.file.src_uri == "contributing.md":
        markdown = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8").replace("](docs/", "](")
    return _blank_line_before_lists(markdown)
