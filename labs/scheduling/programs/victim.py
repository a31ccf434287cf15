"""victim STAMPS STOP MAX — a latency-sensitive program (labs/scheduling's grader).

Calls devices' `now` in a loop, one call at a time, until the host file STOP
exists or MAX calls were made.  Each call is sent with call_async, and right after
the send "ID TIME" (time.time()) goes to the host file STAMPS: call ID was waiting
in this process's ring from TIME on.  After its first call it makes STAMPS with the
suffix .ready (a flooder waits for it).
"""

import sys
import time
from pathlib import Path

from libipc import lookup
from libipc.runtime import current

CALL_DEADLINE = 60.0   # seconds one call may take before the program gives up


def one_call(runtime, devices: int, lines: list[str]) -> None:
    answers: list = []
    call_id = runtime.call_async(devices, "now", {}, answers.append)
    lines.append(f"{call_id} {time.time()!r}")
    deadline = time.monotonic() + CALL_DEADLINE
    while not answers:
        if time.monotonic() > deadline:
            sys.exit(f"victim: call {call_id} got no answer in {CALL_DEADLINE} s")
        runtime.next_event(1.0)
    runtime.result(answers[0])


def main() -> None:
    stamps, stop, most = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    devices, runtime = lookup("devices").endpoint, current()
    lines: list[str] = []
    calls = 0
    while calls < most and not (calls and stop.exists()):
        one_call(runtime, devices, lines)
        calls += 1
        if calls == 1:
            stamps.with_suffix(".ready").touch()
    stamps.write_text("\n".join(lines) + "\n")
    print(f"victim made {calls} calls")


main()
