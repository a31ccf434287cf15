"""`python -m servers.shell`: run the shell session (see servers/shell/main.py)."""

from servers.shell.main import main

main()
