"""A whole directory's listing, page by page.

fs's ``readdir`` answers in one message, and a message has a bound (64 KiB of
body by default): a directory of a few thousand entries does not fit.  So a
reader asks for pages — ``readdir(path, after=NAME, limit=PAGE)``, the next
PAGE names sorted after NAME (fewer when they would not fit in one of this
boot's messages) — until an empty page says it has them all.  An entry made or
removed between two pages is seen or not, as with POSIX readdir; none is seen
twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

# 128 entries of the longest name (NK_DIRSIZ bytes) and their type and size: well
# inside one message
PAGE = 128


def whole_listing(readdir: Callable[..., list[dict[str, Any]]],
                  path: str) -> Iterator[dict[str, Any]]:
    """Every entry of directory ``path``, sorted by name; ``readdir(path=, after=,
    limit=)`` is the call to fs (a proxy's method, or a caller's own wrapper)."""
    after = None
    while True:
        page = readdir(path=path, after=after, limit=PAGE)
        if not page:
            return
        yield from page
        after = page[-1]["name"]
