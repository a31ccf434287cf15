"""`python -m servers.bridge`: run the bridge server (see servers/bridge/server.py)."""

from servers.bridge.server import main

main()
