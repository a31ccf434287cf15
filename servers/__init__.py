"""Every user-space program that boots with the system: init, naming, console,
devices, block, fs — and the shell, a user program rather than a server.

Rules: a server imports ``libipc`` (and its own package), never the kernel nor
the front end; it reaches any other server only by messages.  ``blockdev.py``
is the block-device code below both block and fs (block imports nothing of fs).
"""
