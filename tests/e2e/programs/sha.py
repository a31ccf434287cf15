"""Print the byte count and SHA-256 of stdin: ``run sha.py``."""
import hashlib
import sys

h, n = hashlib.sha256(), 0
while data := sys.stdin.buffer.read(1 << 16):
    h.update(data)
    n += len(data)
print(n, h.hexdigest())
