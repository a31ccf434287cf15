"""Print "y" lines for ever (until nobody reads: then exit 141, as with SIGPIPE)."""
while True:
    print("y")
