"""sink — swallows messages and counts them, per sender (labs/scheduling).

A flooder needs somewhere to send: ``eat`` is a SEND (no reply, the sender never
waits), and this server takes messages off its ring in batches, so it keeps up
with any sender and the router, not the sink, is what a flood measures.

Ops:
    eat(seq, pad="")     (a SEND) counted under the sender's name; pad is ballast
    count(sender=None)   -> int: messages eaten from ``sender`` (every sender: None)
    counts()             -> {sender name: messages eaten}
    reset()              -> None: forget the counts

You need not change this file.
"""

from __future__ import annotations

from collections import Counter

from libipc import InvalidArgument, Server, op

MAX_SENDERS = 1024   # names counted (a bounded table, like every server's)


class Sink(Server):
    name = "sink"

    def start(self) -> None:
        self.eaten: Counter[str] = Counter()

    @op
    def eat(self, ctx, seq: int, pad: str = "") -> None:
        who = ctx.sender.name
        if who not in self.eaten and len(self.eaten) >= MAX_SENDERS:
            raise InvalidArgument(f"sink counts at most {MAX_SENDERS} senders")
        self.eaten[who] += 1

    @op
    def count(self, ctx, sender: str | None = None) -> int:
        return sum(self.eaten.values()) if sender is None else self.eaten[sender]

    @op
    def counts(self, ctx) -> dict:
        return dict(self.eaten)

    @op
    def reset(self, ctx) -> None:
        self.eaten.clear()


if __name__ == "__main__":
    Sink.main()
