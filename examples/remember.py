"""remember KEY TEXT...: store a note with memo and read it back (a user program).

Run it from the shell: run examples/remember.py greeting hi there
Its print() output goes to the console; its exit status is the run command's.
"""

import sys

from libipc import IpcError, lookup


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: remember KEY TEXT...")
        return 2
    key, text = sys.argv[1], " ".join(sys.argv[2:])
    memo = lookup("memo")
    try:
        size = memo.put(key=key, text=text)
        print(f"stored {size} bytes as {key}")
        print(f"memo says: {memo.get(key=key)}")
    except IpcError as exc:
        print(f"remember: {exc.message}: {exc.code}")
        return 1
    return 0


sys.exit(main())
