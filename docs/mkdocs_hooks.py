"""MkDocs hooks for glassnet's site (mkdocs.yml `hooks:`; never imported by the library).

The contributing page is CONTRIBUTING.md itself, read at build time so that the two never
drift apart. Its links are relative to the repository root (``docs/architecture.md``); on the
site, which is built from docs/, they become relative to the page (``architecture.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def on_page_markdown(markdown: str, *, page: Any, **kwargs: Any) -> str:
    """The contributing page's Markdown is CONTRIBUTING.md, its ``docs/`` links made site-relative."""
    if page.file.src_uri != "contributing.md":
        return markdown
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    return text.replace("](docs/", "](")
