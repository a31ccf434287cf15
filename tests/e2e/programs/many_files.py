"""``run many_files.py DIR N``: make directory DIR with N empty files of long names
(whose listing, in one message, would be over the 64 KiB bound)."""
import sys

from libipc import lookup

directory, n = sys.argv[1], int(sys.argv[2])
fs = lookup("fs")
fs.mkdir(path=directory)
for i in range(n):
    fs.create(path=f"{directory}/{i:04d}-{'x' * 51}")
print(f"made {n}")
