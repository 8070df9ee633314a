"""Template tags for the Vite bundle (``static/dist``), read through its manifest.

``{% vite_entry "frontend/live.ts" %}`` emits the entry's ``<script type="module">``,
a ``<link rel="stylesheet">`` for every CSS file of the entry and of the chunks it
imports (recursively: React Flow's CSS sits in a shared chunk) and a
``<link rel="modulepreload">`` per imported chunk. ``{% vite_asset_url ENTRY %}`` is
the entry's URL alone. The manifest is read once per process (re-read when DEBUG).
A missing bundle renders an HTML comment saying to run ``npm run build``, so pages
still work without their islands.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

MANIFEST = Path("dist") / ".vite" / "manifest.json"


def manifest_path() -> Path:
    return Path(settings.BASE_DIR) / "static" / MANIFEST


@lru_cache(maxsize=1)
def _cached_manifest() -> dict[str, Any]:
    return _read_manifest()


def _read_manifest() -> dict[str, Any]:
    try:
        return json.loads(manifest_path().read_text())
    except (OSError, ValueError):
        return {}


def manifest() -> dict[str, Any]:
    return _read_manifest() if settings.DEBUG else _cached_manifest()


def _url(file: str) -> str:
    return static(f"dist/{file}")


def entry_files(entry: str, data: dict[str, Any] | None = None
                ) -> tuple[str, list[str], list[str]] | None:
    """(script file, css files, imported chunk files) of ``entry``, or None if unknown."""
    data = manifest() if data is None else data
    chunk = data.get(entry)
    if chunk is None:
        return None
    css: list[str] = []
    imports: list[str] = []
    seen: set[str] = set()

    def walk(key: str, item: dict[str, Any]) -> None:
        if key in seen:
            return
        seen.add(key)
        for file in item.get("css", []):
            if file not in css:
                css.append(file)
        for dep in item.get("imports", []):
            sub = data.get(dep)
            if sub is not None and dep not in seen:
                imports.append(sub["file"])
                walk(dep, sub)

    walk(entry, chunk)
    return chunk["file"], css, imports


@register.simple_tag
def vite_entry(entry: str) -> SafeString:
    found = entry_files(entry)
    if found is None:
        return format_html("<!-- {} is not built: run `npm run build` -->", entry)
    script, css, imports = found
    links = format_html_join("", '<link rel="stylesheet" href="{}">', ((_url(f),) for f in css))
    preloads = format_html_join("", '<link rel="modulepreload" href="{}">',
                                ((_url(f),) for f in imports))
    tag = format_html('<script type="module" src="{}"></script>', _url(script))
    return mark_safe(links + preloads + tag)


@register.simple_tag
def vite_asset_url(entry: str) -> str:
    found = entry_files(entry)
    return _url(found[0]) if found else ""
