"""Find the line of a key in TOML text, so errors can point at it (tomllib gives no positions)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+)\s*=")
_DECODE_LINE = re.compile(r"at line (\d+)")


def line_of(
    text: str | None, table: str | None, index: int | None = None, key: str | None = None
) -> int | None:
    """Line (1-based) of ``key`` in ``[table]`` or the ``index``-th ``[[table]]``.

    With ``key`` None, the line of the table header. ``table`` None means the top level.
    Returns the header's line when the key is not written there, None when nothing matches.
    """
    if text is None:
        return None
    current: tuple[str | None, int] = (None, 0)
    counts: dict[str, int] = {}
    header_line: int | None = None
    target = (table, index or 0)
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            name = header.group(2).strip().strip("\"'")
            counts[name] = counts.get(name, -1) + 1
            current = (name, counts[name] if header.group(1) == "[[" else 0)
            if current == target:
                header_line = number
                if key is None:
                    return number
            continue
        if key is not None and current == target:
            found = _KEY.match(line)
            if found and found.group(1).strip("\"'") == key:
                return number
    return header_line


def decode_error_line(exc: Exception) -> int | None:
    """The line tomllib names in a TOMLDecodeError message, if any."""
    found = _DECODE_LINE.search(str(exc))
    return int(found.group(1)) if found else None


def read_toml(path: Path, error: Callable[..., Exception]) -> tuple[dict[str, Any], str]:
    """(data, text) of a TOML file; `error(path, key, message, line)` for what goes wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(path, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise error(path, None, f"not valid TOML: {exc}", decode_error_line(exc)) from None
