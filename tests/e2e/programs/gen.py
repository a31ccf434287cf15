"""Write N pseudo-random bytes (seeded) to stdout: ``run gen.py N SEED``."""
import random
import sys

n, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
out = sys.stdout.buffer
while n > 0:
    k = min(n, 65536)
    out.write(rng.randbytes(k))
    n -= k
