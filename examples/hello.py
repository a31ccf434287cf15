"""hello: the smallest server — one operation (docs/tutorial.md, step 1)."""

from libipc import Server, op


class Hello(Server):
    name = "hello"

    @op
    def greet(self, ctx, who: str = "world") -> str:
        return f"hello, {who} (from {ctx.sender.name})"


if __name__ == "__main__":
    Hello.main()
