"""The shell: a user program, not a server (``python -m servers.shell``).

It owns nothing.  Every line it reads and prints goes through the console
server; every file operation is a call to fs, every process operation a
kernel call or a call to init, every clock read a call to devices.  That is
the point: the shell shows what a user program in a microkernel is — a
client of servers.

Files:
    lexer.py     the command language (quotes, comments, ``;``, ``>``/``>>``)
    core.py      the interpreter: output buffering, dispatch, errors, paths, server calls
    files.py     file commands (ls, cat, echo, mkdir, rm, rmdir, mv, cp, touch, stat, df,
                 cd, pwd); a /net/NODE/PATH is another node's file
    system.py    process and system commands (ps, names, nodes, kill, start, run, call, …)
    main.py      the session: commands from NK_COMMANDS, or console lines until EOF
"""
