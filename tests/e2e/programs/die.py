"""Exit with a message (``sys.exit("...")``): it goes to stderr, never into stdout."""
import sys

sys.exit("die.py: giving up")
