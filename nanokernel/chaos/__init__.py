"""nanokernel chaos — a seeded fault-injection campaign (see main.py)."""
