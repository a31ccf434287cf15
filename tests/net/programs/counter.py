"""counter: a server the network tests call from other nodes.

    bump()            -> int   one more (counted here: a call run twice shows)
    count()           -> int
    who()             -> str   the caller as this server sees it (ctx.sender)
    slow(seconds, mark) -> int answers after `seconds` (a deferred reply); counted at once
    hang(seconds)     -> int   works `seconds` without answering anyone (a busy server)
"""
import time

from libipc import Server, op


class Counter(Server):
    name = "counter"

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    @op
    def bump(self, ctx) -> int:
        self.n += 1
        return self.n

    @op
    def count(self, ctx) -> int:
        return self.n

    @op
    def who(self, ctx) -> dict:
        sender = ctx.sender
        return {"name": sender.name, "node": getattr(sender, "node", None),
                "endpoint": getattr(sender, "remote_endpoint", sender.endpoint)}

    @op
    def slow(self, ctx, seconds: float, mark: str = "") -> int:
        """Counted at once (and a line appended to the host file `mark`, which outlives
        this node: the test counts the runs there), answered after `seconds`."""
        self.n += 1
        if mark:
            with open(mark, "a") as f:
                f.write(f"{ctx.sender.name}\n")
        reply, n = ctx.defer(), self.n
        self.runtime.after(seconds, lambda: reply.reply(n))
        return None

    @op
    def hang(self, ctx, seconds: float) -> int:
        self.n += 1
        time.sleep(seconds)
        return self.n


if __name__ == "__main__":
    Counter.main()
