"""Sleep SECONDS, then print "woke": ``run nap.py SECONDS``."""
import sys
import time

time.sleep(float(sys.argv[1]))
print("woke")
