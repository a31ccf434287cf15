"""Helpers for session programs: write a JSON result, exit with a status."""

import json
import sys
import traceback


def finish(result, status: int = 0) -> None:
    with open(sys.argv[1], "w") as f:
        json.dump(result, f)
    sys.exit(status)


def run(fn) -> None:
    """Call fn() -> result (JSON-able); a failure writes {"error": traceback}, exit 1."""
    try:
        result = fn()
    except BaseException:
        finish({"error": traceback.format_exc()}, 1)
    finish(result, 0)
