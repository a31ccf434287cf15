"""Server.handle and Server.dispatch in process, over a fake runtime: what a handler
sees in its Context, and which answer each kind of request gets."""

from __future__ import annotations

from typing import Any

import pytest

from libipc.errors import Internal, InvalidArgument, NoSuchEndpoint, NoSuchOp
from libipc.message import CALL, KERNEL, NOTIFY, REPLY, SEND, Message, pack
from libipc.server import Context, Sender, Server, op


class FakeRuntime:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int, int, Any]] = []
        self.whoami: list[int] = []

    def reply(self, dst: int, call_id: int, value: Any) -> None:
        self.sent.append(("reply", dst, call_id, value))

    def reply_error(self, dst: int, call_id: int, error: Exception) -> None:
        self.sent.append(("error", dst, call_id, error))

    def call(self, dst: int, op_name: str, args: dict[str, Any]) -> Any:
        assert (KERNEL, "whoami") == (dst, op_name)
        self.whoami.append(args["ep"])
        if args["ep"] == 66:
            raise NoSuchEndpoint("gone")
        return {"name": f"proc{args['ep']}"}


class Echo(Server):
    name = "echo"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []
        self.later: list[Any] = []

    @op
    def echo(self, ctx: Context, text: str, times: int = 1) -> str:
        return text * times

    @op
    def who(self, ctx: Context) -> list:
        return [ctx.sender.endpoint, ctx.sender.name, ctx.call_id, repr(ctx.sender)]

    @op
    def later_op(self, ctx: Context) -> str:
        self.later.append(ctx.defer())
        return "ignored"

    @op
    def boom(self, ctx: Context) -> None:
        raise ZeroDivisionError("oops")

    @op
    def refuse(self, ctx: Context) -> None:
        raise InvalidArgument("no")

    @op
    def record(self, ctx: Context, value: Any = None) -> None:
        self.seen.append(value)

    def on_notify(self, src: int, bits: int) -> None:
        self.seen.append(("notify", src, bits))


@pytest.fixture
def server() -> Echo:
    Sender._names.clear()
    s = Echo()
    s.runtime = FakeRuntime()  # type: ignore[assignment]
    return s


def message(kind: int, op_name: str, src: int = 7, call_id: int = 11, **args: Any) -> Message:
    return Message(src, 3, kind, 0, call_id, pack([op_name, args]))


class TestHandle:
    def test_a_call_is_answered_with_the_result(self, server: Echo) -> None:
        server.handle(message(CALL, "echo", text="ab", times=2))
        assert [("reply", 7, 11, "abab")] == server.runtime.sent

    def test_the_context_names_the_sender_on_demand(self, server: Echo) -> None:
        server.handle(message(CALL, "who", src=9, call_id=4))
        server.handle(message(CALL, "who", src=9, call_id=5))
        assert ("reply", 9, 4, [9, "proc9", 4, "Sender(9)"]) == server.runtime.sent[0]
        assert [9] == server.runtime.whoami   # the name is asked once
        server.handle(message(CALL, "who", src=66))
        assert "?" == server.runtime.sent[-1][3][1]
        server.handle(message(CALL, "echo", src=12, text="x"))
        assert 12 not in server.runtime.whoami   # nobody asked: nobody called the kernel

    def test_bad_arguments_and_ops_are_errors_to_the_caller(self, server: Echo) -> None:
        server.handle(message(CALL, "echo", text=1))
        server.handle(message(CALL, "echo"))
        server.handle(message(CALL, "nope"))
        server.handle(message(CALL, "refuse"))
        errors = [(kind, dst, cid, type(e), e.message) for kind, dst, cid, e in server.runtime.sent]
        assert [
            ("error", 7, 11, InvalidArgument, "echo: argument 'text' must be str, got int"),
            ("error", 7, 11, InvalidArgument, "echo: missing a required argument: 'text'"),
            ("error", 7, 11, NoSuchOp, "echo has no op 'nope'"),
            ("error", 7, 11, InvalidArgument, "no"),
        ] == errors

    def test_a_crash_is_internal(self, server: Echo) -> None:
        server.handle(message(CALL, "boom"))
        (kind, dst, _, error), = server.runtime.sent
        assert ("error", 7, Internal, "ZeroDivisionError: oops") == (
            kind, dst, type(error), error.message)

    def test_a_send_gets_no_reply_even_when_it_fails(self, server: Echo) -> None:
        server.handle(message(SEND, "record", value=5))
        server.handle(message(SEND, "echo", text=1))
        server.handle(message(SEND, "later_op"))   # defer on a SEND: refused, logged
        assert [5] == server.seen
        assert [] == server.runtime.sent
        assert [] == server.later

    def test_a_deferred_reply_is_sent_once_later(self, server: Echo) -> None:
        server.handle(message(CALL, "later_op", src=8, call_id=2))
        assert [] == server.runtime.sent
        handle, = server.later
        handle.reply("done")
        handle.reply("twice")
        handle.error(Internal("late"))
        assert [("reply", 8, 2, "done")] == server.runtime.sent

    def test_notify_and_other_kinds(self, server: Echo) -> None:
        server.handle(Message(4, 3, NOTIFY, 0, 0b101, b""))
        server.handle(Message(4, 3, REPLY, 0, 1, pack(["echo", {"text": "x"}])))
        assert [("notify", 4, 0b101)] == server.seen
        assert [] == server.runtime.sent

    def test_dispatch_without_a_context(self, server: Echo) -> None:
        """The unit tests of servers call dispatch(None, body) directly."""
        assert "xx" == server.dispatch(None, pack(["echo", {"text": "x", "times": 2}]))
        with pytest.raises(InvalidArgument, match="unexpected keyword argument 'z'"):
            server.dispatch(None, pack(["echo", {"text": "x", "z": 2}]))


def test_context_has_the_public_attributes() -> None:
    runtime = FakeRuntime()
    ctx = Context(runtime, Message(5, 3, CALL, 0, 9, b""))  # type: ignore[arg-type]
    assert (5, 9, True, None) == (ctx.sender.endpoint, ctx.call_id, ctx.is_call, ctx.deferred)
    assert ctx.sender is ctx.sender
    deferred = ctx.defer()
    assert deferred is ctx.defer()
    assert (5, 9) == (deferred.dst, deferred.call_id)
    kernel = Context(runtime, Message(KERNEL, 3, SEND, 0, 0, b""))  # type: ignore[arg-type]
    assert "kernel" == kernel.sender.name
    with pytest.raises(InvalidArgument, match="nobody to reply to"):
        kernel.defer()
