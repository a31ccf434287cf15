"""``run shell_same.py PATH PATH...``: prints "same N" when every file holds the same N
bytes (read through libipc.open, so /net/NODE/... paths too), else "differ" and each
path's size; exit status 0 or 1."""
import sys

import libipc


def main() -> int:
    contents = []
    for path in sys.argv[1:]:
        with libipc.open(path, "rb") as f:
            contents.append(f.read())
    if all(c == contents[0] for c in contents):
        print(f"same {len(contents[0])}")
        return 0
    sizes = (f"{p}={len(c)}" for p, c in zip(sys.argv[1:], contents, strict=True))
    print("differ " + " ".join(sizes))
    return 1


sys.exit(main())
