"""File commands: each one a few fs calls (servers/fs: path-based, stateless ops).

Paths are resolved against the shell's working directory, which lives here in
the shell — fs keeps no per-client state (NFS's reason: a restarted fs server
loses nothing a client needs).

A path under /net/NODE/ is a file of node NODE (core.py's ``fs`` routes the
call to ``fs@NODE``), so each command works on other nodes' files as on this
one's, the working directory included (``cd /net/a/home``); ``ls /net`` lists
this node and its peers (/net/THIS-NODE/PATH is PATH here).  ``cp`` copies
between any two nodes (the bytes pass through the shell); ``mv`` renames
within one fs, and refuses two nodes (CrossNode).
"""

from __future__ import annotations

import codecs
import posixpath
import time

from libipc import IpcError, NoSuchEndpoint, nodes
from libipc.file import open as open_path
from libipc.readdir import whole_listing
from servers.shell.core import CHUNK, NET_ROOT, NOT_A_NODE, CommandError, Interpreter, usage_error

TYPE_LETTERS = {"dir": "d", "fifo": "p", "symlink": "l"}   # ls -l's first column ("-": a file)


def _flags(args: list[str], allowed: str) -> tuple[set[str], list[str]]:
    """Split leading ``-x`` options (from ``allowed``) from operands."""
    flags: set[str] = set()
    rest = list(args)
    while rest and rest[0].startswith("-") and rest[0] != "-":
        if rest[0] == "--":
            rest.pop(0)
            break
        for ch in rest.pop(0)[1:]:
            if ch not in allowed:
                raise CommandError(f"unknown option -{ch}", "Usage", status=2)
            flags.add(ch)
    return flags, rest


class FileCommands(Interpreter):
    def do_ls(self, args: list[str]) -> int:
        """ls [-l] [PATH...]
        List a directory (default: the working directory); -l: type (d, p: fifo, l: link)
        and size, and a link's target.
        /net/NODE/PATH is a directory of node NODE; ls /net lists the nodes."""
        flags, names = _flags(args, "l")
        status = 0
        for i, name in enumerate(names or ["."]):
            path = self.path(name)
            if len(names) > 1:
                self.print(("" if i == 0 else "\n") + f"{name}:")
            if path == NET_ROOT:
                for node in self._peers(name):
                    self._ls_row(name, node, "dir", 0, "l" in flags)
                continue
            info = self.fs(name, "stat", path=path)
            if info["type"] != "dir":
                self._ls_row(name, path, info["type"], info["size"], "l" in flags)
                continue
            listing = whole_listing(lambda n=name, **args: self.fs(n, "readdir", **args), path)
            for entry in listing:
                child = posixpath.join(path, entry["name"])
                self._ls_row(name, child, entry["type"], entry["size"], "l" in flags)
        return status

    def _peers(self, detail: str) -> list[str]:
        """This node and the nodes it links to (its bridge's ``nodes``): /net's entries."""
        me = self.node_name()
        try:
            return sorted({row["node"] for row in nodes()} | ({me} if me else set()))
        except NoSuchEndpoint:
            raise CommandError(f"{detail}: {NOT_A_NODE}", "NoSuchEndpoint") from None
        except IpcError as exc:
            raise CommandError(detail, exc.code) from None

    def _ls_row(self, detail: str, path: str, kind: str, size: int, long: bool) -> None:
        name = posixpath.basename(path) or path
        if not long:
            self.print(name)
            return
        if kind == "symlink":
            name += " -> " + self.fs(detail, "readlink", path=path)
        self.print(f"{TYPE_LETTERS.get(kind, '-')} {size:>9}  {name}")

    def do_cat(self, args: list[str]) -> int:
        """cat FILE...
        Print files (a FIFO: what its writers write, until the last one closes it)."""
        if not args:
            raise usage_error("cat FILE...")
        for name in args:
            path = self.path(name)
            offset, data = 0, b""
            while True:
                try:
                    data = self.fs(name, "read", path=path, offset=offset, size=CHUNK)
                except CommandError as exc:   # fs refuses a FIFO's read: is it one?
                    if exc.code != "InvalidArgument" or not self.is_fifo(name, path):
                        raise
                    offset, data = self._cat_fifo(path)
                    break
                if not data:
                    break
                self.print(data.decode(errors="replace"), end="")
                offset += len(data)
                if len(data) < CHUNK:
                    break
            if offset and not data.endswith(b"\n") and not self.redirected:
                self.print("")   # keep the next output on its own line
        return 0

    def _cat_fifo(self, path: str) -> tuple[int, bytes]:
        """Print what comes through FIFO ``path`` as it comes; (bytes, the last chunk)."""
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        total, data = 0, b""
        with open_path(path, "rb", buffering=0) as end:   # waits for a writer
            while chunk := end.read(CHUNK):
                total, data = total + len(chunk), chunk
                self.print(decoder.decode(chunk), end="")
                if not self.redirected:
                    self.flush()
        self.print(decoder.decode(b"", final=True), end="")
        return total, data

    def do_mkfifo(self, args: list[str]) -> int:
        """mkfifo PATH...
        Make named pipes: an open for reading waits for a writer, and the other way round."""
        if not args:
            raise usage_error("mkfifo PATH...")
        for name in args:
            self.fs(name, "mkfifo", path=self.path(name))
        return 0

    def do_echo(self, args: list[str]) -> int:
        """echo [WORDS...] [> FILE | >> FILE]
        Print the words (> FILE: into a file, >> FILE: appended to it).
        Any command's output can be redirected the same way (ls > /home/list)."""
        self.print(" ".join(args))
        return 0

    def do_mkdir(self, args: list[str]) -> int:
        """mkdir DIR...
        Create directories."""
        if not args:
            raise usage_error("mkdir DIR...")
        for name in args:
            self.fs(name, "mkdir", path=self.path(name))
        return 0

    def do_rm(self, args: list[str]) -> int:
        """rm FILE...
        Remove files."""
        if not args:
            raise usage_error("rm FILE...")
        for name in args:
            self.fs(name, "unlink", path=self.path(name))
        return 0

    def do_ln(self, args: list[str]) -> int:
        """ln -s TARGET LINK
        Make LINK a symbolic link to TARGET. fs stores links and does not follow them
        (cat LINK is an error); on `nanokernel mount` the host follows them."""
        flags, rest = _flags(args, "s")
        if "s" not in flags or len(rest) != 2:
            raise usage_error("ln -s TARGET LINK  (symbolic links only)")
        target, link = rest
        self.fs(link, "symlink", path=self.path(link), target=target)
        return 0

    def do_readlink(self, args: list[str]) -> int:
        """readlink LINK...
        Print the targets of symbolic links."""
        if not args:
            raise usage_error("readlink LINK...")
        for name in args:
            self.print(self.fs(name, "readlink", path=self.path(name)))
        return 0

    def do_rmdir(self, args: list[str]) -> int:
        """rmdir DIR...
        Remove empty directories."""
        if not args:
            raise usage_error("rmdir DIR...")
        for name in args:
            self.fs(name, "rmdir", path=self.path(name))
        return 0

    def do_touch(self, args: list[str]) -> int:
        """touch FILE...
        Create empty files (a file already there is left as it is)."""
        if not args:
            raise usage_error("touch FILE...")
        for name in args:
            self.fs(name, "create", path=self.path(name))
        return 0

    def do_cp(self, args: list[str]) -> int:
        """cp SRC DST | cp SRC... DIR
        Copy files, into DIR when the last is a directory; between nodes too
        (cp /home/x /net/a/home/x): the bytes pass through the shell."""
        if len(args) < 2:
            raise usage_error("cp SRC DST | cp SRC... DIR")
        *sources, last = args
        dst = self.path(last)
        into = self.fs(last, "stat", default={"type": "none"}, path=dst)["type"] == "dir"
        if len(sources) > 1 and not into:
            raise CommandError(last, "NotADirectory")
        for name in sources:
            src = self.path(name)
            to = posixpath.join(dst, posixpath.basename(src)) if into else dst
            if src == to:
                raise CommandError(f"{name} -> {last}: the same file", "InvalidArgument")
            self._copy(name, src, last, to)
        return 0

    def _copy(self, src_name: str, src: str, dst_name: str, dst: str) -> None:
        """SRC's bytes into DST (created, or truncated to them), a message's worth a
        call: read from SRC's fs, written to DST's."""
        if self.fs(src_name, "stat", path=src)["type"] == "dir":
            raise CommandError(src_name, "IsADirectory")
        offset = 0
        while True:
            data = self.fs(src_name, "read", path=src, offset=offset, size=CHUNK)
            self.fs(dst_name, "write", path=dst, offset=offset, data=data,
                    create=offset == 0)
            offset += len(data)
            if len(data) < CHUNK:
                break
        self.fs(dst_name, "truncate", path=dst, size=offset)

    def do_mv(self, args: list[str]) -> int:
        """mv SRC DST
        Rename SRC to DST; into DST when DST is a directory (on one node: to move a
        file to another node, cp it, then rm it)."""
        if len(args) != 2:
            raise usage_error("mv SRC DST")
        src, dst = self.path(args[0]), self.path(args[1])
        if self.fs_of(args[0], src)[0] != self.fs_of(args[1], dst)[0]:
            raise CommandError(f"{args[0]} -> {args[1]}: on two nodes (cp, then rm)",
                               "CrossNode")
        target = self.fs(args[1], "stat", default={"type": "none"}, path=dst)
        if target["type"] == "dir":
            dst = posixpath.join(dst, posixpath.basename(src))
        self.fs(args[0], "rename", src=src, dst=dst)
        return 0

    def do_stat(self, args: list[str]) -> int:
        """stat PATH...
        Show a file's type, size, links, inode, blocks and modification time."""
        if not args:
            raise usage_error("stat PATH...")
        for name in args:
            path = self.path(name)
            info = self.fs(name, "stat", path=path)
            mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["mtime"]))
            self.print(f"  File: {path}")
            self.print(f"  Type: {info['type']}  Size: {info['size']}  Links: {info['nlink']}"
                       f"  Inode: {info['inum']}  Blocks: {info['blocks']}")
            self.print(f"Modify: {mtime}")
        return 0

    def do_df(self, args: list[str]) -> int:
        """df [PATH]
        Show the filesystem's size and free space (blocks and inodes); of node
        NODE's with a path /net/NODE/..."""
        if len(args) > 1:
            raise usage_error("df [PATH]")
        where = self.path(args[0]) if args else "/"
        server = self.fs_of(args[0] if args else "/", where)[0]
        s = self.fs(args[0] if args else "/", "statfs", where=where)
        bs, blocks, free = s["block_size"], s["blocks"], s["free_blocks"]
        used = blocks - free
        pct = 100 * used // blocks if blocks else 0
        self.print(f"{'Filesystem':<10} {'Size':>10} {'Used':>10} {'Avail':>10} {'Use%':>5}"
                   f" {'Inodes':>7} {'IFree':>7}")
        self.print(f"{server:<10} {_human(blocks * bs):>10} {_human(used * bs):>10}"
                   f" {_human(free * bs):>10} {pct:>4}% {s['inodes']:>7} {s['free_inodes']:>7}")
        return 0

    def do_cd(self, args: list[str]) -> int:
        """cd [DIR]
        Change the working directory (/ by default)."""
        if len(args) > 1:
            raise usage_error("cd [DIR]")
        path = self.path(args[0]) if args else "/"
        if self.fs(args[0] if args else "/", "stat", path=path)["type"] != "dir":
            raise CommandError(args[0], "NotADirectory")
        self.cwd = path
        return 0

    def do_pwd(self, args: list[str]) -> int:
        """pwd
        Print the working directory."""
        self.print(self.cwd)
        return 0


def _human(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)
