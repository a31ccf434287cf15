from servers.shell.main import main

main()
