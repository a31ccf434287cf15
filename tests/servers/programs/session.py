"""The test session program: run one scenario, write a JSON result, exit 0.

    session.py SCENARIO OUT.json

Runs as the boot's session (privileged, calls "*"), so its exit halts the
system.  Errors land in the result as {"session_error": ..., "traceback": ...}.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

from scenarios import SCENARIOS

if __name__ == "__main__":
    name, out = sys.argv[1], sys.argv[2]
    os.environ["NK_TEST_OUT"] = out
    try:
        result = SCENARIOS[name]()
    except SystemExit:
        raise
    except BaseException as exc:
        result = {"session_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(result, f)
    sys.exit(0)
