"""`python -m servers.fs`: run the fs server (see servers/fs/server.py)."""

from servers.fs.server import main

main()
