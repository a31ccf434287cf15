"""Print the devices' clock and 8 random bytes, N times: ``run clock_reader.py N``
(ordering tests: a seeded run's clock and randomness are the seed's)."""
import sys

from libipc import lookup

devices = lookup("devices")
for _ in range(int(sys.argv[1])):
    print(devices.now(), devices.read(device="random", n=8).hex())
