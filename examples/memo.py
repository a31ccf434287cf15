"""memo: notes kept as files in /memo (docs/tutorial.md, the server it builds).

Two operations:
    put(key, text) -> int      store a note (an outgoing call: fs writes it)
    get(key, wait=0.0) -> str  read a note; with wait > 0 and no such note yet,
                               reply later: when someone puts it, or with
                               Timeout after `wait` seconds (a deferred reply)
"""

import contextlib

from libipc import Deferred, FileExists, FileNotFound, InvalidArgument, Server, Timeout, lookup, op

DIR = "/memo"


class Memo(Server):
    name = "memo"

    def start(self) -> None:
        self.fs = lookup("fs")
        self.waiting: dict[str, list[Deferred]] = {}
        with contextlib.suppress(FileExists):   # notes from an earlier run: kept
            self.fs.mkdir(path=DIR)

    @op
    def put(self, ctx, key: str, text: str) -> int:
        path = self._path(key)
        data = text.encode()
        self.fs.write(path=path, offset=0, data=data, create=True)
        self.fs.truncate(path=path, size=len(data))
        for reply in self.waiting.pop(key, []):
            reply.reply(text)
        return len(data)

    @op
    def get(self, ctx, key: str, wait: float = 0.0) -> str | None:
        try:
            return self.fs.read(path=self._path(key)).decode()
        except FileNotFound:
            if wait <= 0:
                raise
        reply = ctx.defer()
        self.waiting.setdefault(key, []).append(reply)
        self.runtime.after(wait, lambda: self._give_up(key, reply, wait))
        return None

    def _give_up(self, key: str, reply: Deferred, wait: float) -> None:
        if not reply.done:
            self.waiting[key].remove(reply)
            reply.error(Timeout(f"no note {key!r} within {wait} s"))

    @staticmethod
    def _path(key: str) -> str:
        if not key.isidentifier():
            raise InvalidArgument(f"a key is a word (letters, digits, _), not {key!r}")
        return f"{DIR}/{key}"


if __name__ == "__main__":
    Memo.main()
