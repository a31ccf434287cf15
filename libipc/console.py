"""Say one line on the console, best effort: for a server explaining why it stops.

A server that cannot work (a damaged disk, no image) logs why; this puts the
same line in front of the user.  init starts the servers together, so the
console may not have registered yet: the line waits for it (naming's ``wait``)
up to ``timeout``.  It never raises: with no console, or no right to call it
(the ACL), the log line is all there is.
"""

from __future__ import annotations

import time

from libipc.client import Proxy, lookup
from libipc.errors import IpcError, NoSuchEndpoint


def tell_console(line: str, timeout: float = 2.0) -> bool:
    """Write ``line`` to the console server; False when that was not possible."""
    from libipc.naming import NAMING, forget
    deadline = time.monotonic() + timeout
    text = line.rstrip("\n") + "\n"
    try:
        try:
            lookup("console", timeout=timeout).write(text=text)
        except NoSuchEndpoint:   # not registered yet: wait for it, once
            forget("console")
            Proxy(NAMING, timeout=max(0.05, deadline - time.monotonic())).wait(name="console")
            lookup("console", timeout=max(0.05, deadline - time.monotonic())).write(text=text)
    except (IpcError, KeyError):
        return False
    return True
