"""Markdown written by workflow authors (pause descriptions), made safe for pages."""

from __future__ import annotations

import markdown as markdown_lib
import nh3


def render_markdown(text: str | None) -> str:
    """Markdown to HTML, sanitized by nh3 (no scripts, handlers or javascript: links)."""
    if not text:
        return ""
    html = markdown_lib.markdown(text, extensions=["fenced_code", "tables", "sane_lists"])
    return nh3.clean(html, link_rel="noopener noreferrer nofollow")
