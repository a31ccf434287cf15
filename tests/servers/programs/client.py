"""A one-call test client: ``client.py OUT.json NAME OP [JSON-ARGS]``.

NAME may be an endpoint number: then the one call is OP itself (a name would
first be looked up in naming, a second call a fault test could hit instead).

Writes {"value": result} or {"error": code, "message": text} to OUT.json.
"""

from __future__ import annotations

import json
import sys
import time

from libipc import IpcError, Proxy, lookup

if __name__ == "__main__":
    out, name, op = sys.argv[1:4]
    args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    t0 = time.monotonic()
    try:
        target = Proxy(int(name)) if name.isdigit() else lookup(name)
        result = {"value": target.call(op, **args)}
    except IpcError as exc:
        result = {"error": exc.code, "message": exc.message}
    result["elapsed"] = time.monotonic() - t0
    with open(out + ".tmp", "w") as f:
        json.dump(result, f)
    import os
    os.replace(out + ".tmp", out)
