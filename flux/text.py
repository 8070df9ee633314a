"""Which text flux accepts from outside: every string a store can keep, on every store.

Inputs (a workflow's, a pause's answer) and comments may hold any Unicode text
except two things no store can keep alike: a NUL (``\\u0000``: PostgreSQL's
text and jsonb refuse it) and a lone surrogate (``\\ud800``...: not Unicode
text at all; it cannot be encoded as UTF-8, so a page or a database that
writes UTF-8 fails on it). :func:`refuse_bad_text` raises ``InvalidInputError``
naming each place (``errors``: ``{"path", "message"}``, as schema errors),
so every door (API, pages, CLI, inbox) refuses the same text the same way.
"""

from __future__ import annotations

import re
from typing import Any

from flux.errors import InvalidInputError

#: What no string we keep may hold.
_BAD = re.compile("[\x00\ud800-\udfff]")
_LIMIT = 20  # places reported at most


def printable(text: str) -> str:
    """``text`` with each NUL or lone surrogate written as its escape (``\\u0000``):
    safe to show on a page or to store, whatever a bad value held."""
    return _BAD.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be kept (None when it can)."""
    found = _BAD.search(text)
    if found is None:
        return None
    char = found.group()
    what = "a NUL character (\\u0000)" if char == "\x00" else \
        f"a lone surrogate (\\u{ord(char):04x}, not Unicode text)"
    return f"holds {what} at position {found.start()}: remove it"


def text_problems(value: Any, path: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Each string (or key) in the JSON-like ``value`` that cannot be kept."""
    out: list[dict[str, Any]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [(path, value)]
    while stack and len(out) < _LIMIT:
        where, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                out.append({"path": list(where), "message": f"The text {problem}."})
        elif isinstance(item, dict):
            for key, inner in reversed(list(item.items())):
                name = printable(key) if isinstance(key, str) else key
                if isinstance(key, str) and (problem := text_problem(key)):
                    out.append({"path": [*where, name], "message": f"The key {problem}."})
                stack.append(((*where, name), inner))
        elif isinstance(item, list | tuple):
            stack.extend(((*where, i), inner) for i, inner in reversed(list(enumerate(item))))
    return out


def refuse_bad_text(value: Any, what: str) -> None:
    """Raise InvalidInputError naming each string in ``value`` no store can keep."""
    errors = text_problems(value)
    if errors:
        places = " ".join(f"{'/'.join(map(str, e['path'])) or '(root)'}: {e['message']}"
                          for e in errors[:5])
        raise InvalidInputError(f"{what} holds text that cannot be stored: {places}",
                                errors=errors)
