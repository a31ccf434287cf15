"""Say one line on the console, best effort: for a server explaining why it stops.

A server that cannot work (a damaged disk, no image) logs why; this puts the
same line in front of the user.  It never raises: with no console, or no
right to call it (the ACL), the log line is all there is.
"""

from __future__ import annotations

from libipc.client import lookup
from libipc.errors import IpcError


def tell_console(line: str, timeout: float = 1.0) -> bool:
    """Write ``line`` to the console server; False when that was not possible."""
    try:
        lookup("console", timeout=timeout).write(text=line.rstrip("\n") + "\n")
    except (IpcError, KeyError):
        return False
    return True
