"""The Server base class: MINIX's server main loop, written once for every server.

    get work → dispatch on the op name to its @op handler → reply

unless the handler called ``ctx.defer()`` (MINIX's EDONTREPLY): then the reply
is sent later through the returned handle.  A handler's first lines are its
guards; a bad request is answered with an error and the server goes on:

* unknown op                      → NoSuchOp
* malformed body                  → BadMessage
* missing/extra/mistyped argument → InvalidArgument
* an IpcError raised by a handler → that error
* any other exception             → Internal (traceback in the log)

Every server answers ``heartbeat`` (init's ping, servers/init.py): the op is
here, in the base class, and a server waiting in an outgoing call answers it
from the wait (libipc/runtime.py).  A server that does not answer for two of
its heartbeat periods is taken for hung and restarted: a handler that works
longer than that without waiting for anything must split its work (reply
later with ``ctx.defer()`` and go on from a timer, ``runtime.after``).

The class never touches a ring: it gets messages from a ``Runtime`` and
answers through it, so the same server can be hosted in the kernel process.
"""

from __future__ import annotations

import os
import signal
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar

from libipc import jsonlog
from libipc.errors import (
    BadMessage,
    Internal,
    InvalidArgument,
    IpcError,
    MessageTooLarge,
    NoSuchEndpoint,
    NoSuchOp,
    PermissionDenied,
)
from libipc.message import CALL, KERNEL, NOTIFY, SEND, Message, parse_call, unpack
from libipc.runtime import Runtime, current

F = typing.TypeVar("F", bound=Callable[..., Any])
SIGTERM_BIT = 1 << signal.SIGTERM
QUEUED_BATCH = 256   # messages served per look at signals and timers (serve_forever)


def op(fn: F) -> F:
    """Mark a method as an operation clients may call by its name."""
    fn.__nk_op__ = True  # type: ignore[attr-defined]
    return fn


class Sender:
    """Who sent a message: the kernel-stamped endpoint, and its name on demand."""

    _names: ClassVar[dict[int, str]] = {}

    def __init__(self, runtime: Runtime, endpoint: int) -> None:
        self._runtime = runtime
        self.endpoint = endpoint

    @property
    def name(self) -> str:
        """The sender's process name, asked of the kernel once and cached."""
        if self.endpoint == KERNEL:
            return "kernel"
        name = self._names.get(self.endpoint)
        if name is None:
            try:
                info = self._runtime.call(KERNEL, "whoami", {"ep": self.endpoint})
                name = info["name"]
            except NoSuchEndpoint:
                name = "?"
            self._names[self.endpoint] = name
        return name

    def __repr__(self) -> str:
        return f"Sender({self.endpoint})"


class RemoteSender(Sender):
    """A caller on another node, as this node's bridge vouches for it: ``node`` (the
    name its CURVE key is trusted under, so no node can speak for another) and its
    endpoint there.  ``endpoint`` is the bridge's: answers go back through it."""

    def __init__(self, runtime: Runtime, bridge: int, node: str, remote_endpoint: int) -> None:
        super().__init__(runtime, bridge)
        self.node, self.remote_endpoint = node, remote_endpoint

    @property
    def name(self) -> str:
        return f"{self.node}:{self.remote_endpoint}"

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"RemoteSender({self.name})"


def is_remote(ctx: Context) -> bool:
    """Did another node make this call?  Its ``ctx.sender.endpoint`` is the bridge's, a
    privileged process: a check of privilege must refuse remote callers first."""
    return isinstance(ctx._sender, RemoteSender)


VIA_OP = "@via"   # a remote node's call, carried by this node's bridge (servers/bridge/)
_bridges: dict[int, bool] = {}   # endpoint -> is it this node's bridge (asked once)


def _is_bridge(runtime: Runtime, ep: int) -> bool:
    """The bridge init started: named "bridge", privileged, init's child — what no other
    process can be (only init spawns with its own endpoint as parent)."""
    known = _bridges.get(ep)
    if known is None:
        try:
            who = runtime.call(KERNEL, "whoami", {"ep": ep})
            init = runtime.call(KERNEL, "whoami", {"ep": 1})["ep"]
            known = (who["name"] == "bridge" and who["privileged"] is True
                     and who["parent"] == init)
        except (IpcError, KeyError, TypeError):
            return False
        _bridges[ep] = known
    return known


class Deferred:
    """A reply owed to a caller, to be sent later; exactly one of reply/error."""

    def __init__(self, runtime: Runtime, dst: int, call_id: int) -> None:
        self._runtime, self.dst, self.call_id = runtime, dst, call_id
        self.done = False

    def reply(self, value: Any = None) -> None:
        if not self.done:
            self.done = True
            send_reply(self._runtime, self.dst, self.call_id, value)

    def error(self, error: IpcError) -> None:
        if not self.done:
            self.done = True
            self._runtime.reply_error(self.dst, self.call_id, error)


def send_reply(runtime: Runtime, dst: int, call_id: int, value: Any) -> None:
    """Reply with ``value``; when it cannot travel (not msgpack, too big) the caller gets
    that error instead — it must get an answer, and the server must not die of it."""
    try:
        runtime.reply(dst, call_id, value)
    except BadMessage as exc:
        runtime.reply_error(dst, call_id, Internal(f"the result cannot be sent: {exc.message}"))
    except MessageTooLarge as exc:
        runtime.reply_error(dst, call_id, exc)


class Context:
    """What a handler knows about the request it is serving.

    Made for every CALL and SEND, so it is small: the ``Sender`` is built only
    when a handler (or an error reply) asks for ``ctx.sender``."""

    __slots__ = ("runtime", "call_id", "is_call", "deferred", "_src", "_sender")
    # (a remote call's RemoteSender is set in _sender by Server._via)

    def __init__(self, runtime: Runtime, msg: Message) -> None:
        self.runtime = runtime
        self._src = msg.src
        self._sender: Sender | None = None
        self.call_id = msg.id
        self.is_call = msg.kind == CALL
        self.deferred: Deferred | None = None

    @property
    def sender(self) -> Sender:
        """Who sent the request (its endpoint; its name on demand)."""
        sender = self._sender
        if sender is None:
            sender = self._sender = Sender(self.runtime, self._src)
        return sender

    def defer(self) -> Deferred:
        """Reply later: the handler's return value is ignored; use the handle."""
        if not self.is_call:
            raise InvalidArgument("defer: a SEND has nobody to reply to")
        if self.deferred is None:
            self.deferred = Deferred(self.runtime, self._src, self.call_id)
        return self.deferred


class ServerFault(BaseException):
    """A fault on purpose (``crash NAME``): it escapes the handler's safety net, so a
    server process dies of it — and a server hosted in the kernel panics the kernel."""


class Server:
    """Base class of every server.  Subclass, set ``name``, add ``@op`` methods."""

    name: ClassVar[str | None] = None
    register_name: ClassVar[bool] = True   # naming registers itself differently
    ops: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # what inspect.getmembers(cls, callable) gives, without importing inspect
        members = ((n, getattr(cls, n, None)) for n in dir(cls))
        cls.ops = {n: f for n, f in members if callable(f) and getattr(f, "__nk_op__", False)}
        # An op named like one of Server's own methods (attach, main, dispatch…) replaces
        # it, and the server then dies before it registers with an unrelated error: say so
        # when the class is made instead.
        for name in cls.ops.keys() & _BASE_METHODS:
            raise TypeError(f"{cls.__name__}.{name}: an @op may not be named like "
                            f"Server.{name}, which the server itself needs; rename the op")

    def __init__(self) -> None:
        self.runtime: Runtime | None = None
        self.log = jsonlog.get_logger(server=self.name or type(self).__name__)
        self._stopping = False

    # -- hooks a server may override ------------------------------------------
    def start(self) -> None:
        """Called once the runtime is attached, before serving (open files, timers)."""

    def stop(self) -> None:
        """Called when the server leaves its loop (halt, SIGTERM): flush state here."""

    def on_notify(self, src: int, bits: int) -> None:
        """A NOTIFY arrived from ``src`` with ``bits`` set."""

    @op
    def heartbeat(self, ctx: Context) -> bool:
        """init's ping: True at once.  (Cheap on purpose: it is served between two
        requests; no answer for two heartbeat periods and init restarts this server.)"""
        return True

    @op
    def _fault(self, ctx: Context) -> None:
        """Fault on purpose — privileged callers only (init, for the shell's ``crash``)."""
        info = self.runtime.call(KERNEL, "whoami", {"ep": ctx.sender.endpoint})
        if not info.get("privileged") or is_remote(ctx):
            raise PermissionDenied(f"{info.get('name')} may not crash {self.name}")
        raise ServerFault(f"{self.name or type(self).__name__}: fault injected by "
                          f"{info.get('name')}")

    # -- running ----------------------------------------------------------------
    @classmethod
    def main(cls, argv: list[str] | None = None) -> None:
        """Entry point of a server process: connect, register, serve until SIGTERM."""
        argv = sys.argv[1:] if argv is None else argv
        runtime = current()   # connects and configures logging before the server exists
        runtime.transport.ring_on_signal(signal.SIGTERM)
        server = cls(*argv) if argv else cls()
        server.attach(runtime)
        server.serve_forever()
        server.stop()
        sys.stdout.flush()
        os._exit(0)

    def attach(self, runtime: Runtime) -> None:
        """Bind to a runtime, run ``start`` and register the name with naming."""
        self.runtime = runtime
        self.start()
        if self.name and self.register_name:
            from libipc.naming import register
            # The kernel's name for this process (init may start a second copy under
            # another name, `start x.py NAME`); naming only accepts that one.
            register(runtime.name if runtime.name not in ("", "?") else self.name)
        self.log.info("server_started", endpoint=runtime.endpoint)

    def request_stop(self) -> None:
        """Leave the loop after the current message (any thread)."""
        self._stopping = True
        if self.runtime is not None:
            self.runtime.post(lambda: None)

    def serve_forever(self) -> None:
        """Serve until ``request_stop`` or a SIGTERM (watched by ``main``) arrives.

        SIGTERM is caught in C (csrc/nk_signal.c), which rings this process's
        doorbell: a Python handler could miss a signal landing during the C
        wait's spin, and the server would sleep through its halt."""
        rt = self.runtime
        assert rt is not None
        handle, queued = self.handle, rt.next_queued
        while not self._stopping:
            msg = rt.next_event(None)
            if rt.signals() & SIGTERM_BIT:
                self.log.info("sigterm")
                return
            # What one wait brought comes as a batch: serve it before looking at signals
            # and timers again (at most QUEUED_BATCH, so a flood cannot hold off a SIGTERM).
            for _ in range(QUEUED_BATCH):
                if msg is None or self._stopping:
                    break
                handle(msg)
                msg = queued()
            if msg is not None:
                rt.requeue(msg)

    def handle(self, msg: Message) -> None:
        """Serve one incoming message (CALL, SEND or NOTIFY)."""
        kind = msg.kind
        if kind != CALL and kind != SEND:
            if kind == NOTIFY:
                self._guarded(lambda: self.on_notify(msg.src, msg.id), msg)
            return
        runtime = self.runtime
        ctx = Context(runtime, msg)
        try:
            result = self.dispatch(ctx, msg.body)
        except IpcError as exc:
            self._answer_error(ctx, exc)
            return
        except Exception as exc:  # a handler bug must not kill the server
            self.log.exception("handler_crashed", src=msg.src)
            self._answer_error(ctx, Internal(f"{type(exc).__name__}: {exc}"))
            return
        if kind == CALL and ctx.deferred is None:
            send_reply(runtime, msg.src, msg.id, result)

    def _answer_error(self, ctx: Context, exc: IpcError) -> None:
        if ctx.is_call and (ctx.deferred is None or not ctx.deferred.done):
            if ctx.deferred is not None:
                ctx.deferred.error(exc)
            else:
                self.runtime.reply_error(ctx._src, ctx.call_id, exc)
        elif not ctx.is_call:
            self.log.warning("send_failed", src=ctx._src, error=str(exc))

    def _guarded(self, fn: Callable[[], None], msg: Message) -> None:
        try:
            fn()
        except Exception:
            self.log.exception("notify_handler_crashed", src=msg.src)

    def dispatch(self, ctx: Context, body: bytes) -> Any:
        """Decode ``[op, {args}]``, check it against the handler, call it."""
        op_name, args = parse_call(unpack(body))
        handler = self.ops.get(op_name)
        if handler is None:
            if op_name == VIA_OP:
                return self._via(ctx, args)
            raise NoSuchOp(f"{self.name or type(self).__name__} has no op {op_name!r:.100}")
        validate = _validators.get(handler)
        if validate is None:
            validate = validator_for(handler)
        validate(op_name, args)
        return handler(self, ctx, **args)


    def _via(self, ctx: Context, args: dict[str, Any]) -> Any:
        """A call from another node: ``{"node", "ep", "body"}`` from the bridge only;
        the inner body is served as any call, with ``ctx.sender`` the remote caller."""
        if not _is_bridge(self.runtime, ctx._src):
            raise PermissionDenied(f"{VIA_OP}: only this node's bridge carries remote calls")
        node, ep, body = args.get("node"), args.get("ep"), args.get("body")
        if not (isinstance(node, str) and isinstance(ep, int) and isinstance(body, bytes)):
            raise BadMessage(f"{VIA_OP}: needs node (str), ep (int) and body (bytes)")
        if parse_call(unpack(body))[0] == VIA_OP:
            raise BadMessage(f"{VIA_OP} inside {VIA_OP}")
        ctx._sender = RemoteSender(self.runtime, ctx._src, node, ep)
        return self.dispatch(ctx, body)


# Server's own methods, which an @op must not replace (its hooks — start, stop, on_notify —
# are overridden on purpose, and are not ops)
_BASE_METHODS = frozenset(n for n, f in vars(Server).items()
                          if (callable(f) or isinstance(f, classmethod | staticmethod))
                          and not getattr(f, "__nk_op__", False) and not n.startswith("__")
                          and n not in ("start", "stop", "on_notify"))

# -- argument checking -------------------------------------------------------
#
# Every @op handler (and kernel call) gets a validator, compiled on its first use
# from its signature: a few dict lookups and one isinstance per argument, where
# ``inspect.Signature.bind`` cost microseconds a call.  Compiled lazily, not at class
# creation, because string annotations (``from __future__ import annotations``) may
# name things defined later in their module.
#
# The rules and the messages are those of ``Signature.bind(None, None, **args)``
# (the two positionals stand for self/ctx, or the kernel's k/caller) followed by a
# type check of each argument in the order it came: a request that is refused gets
# the same InvalidArgument, word for word, as when bind did the work.  The fast
# path only ever accepts; anything it does not like goes to ``_explain``, which
# replays bind's order of complaints to find the message.

Validator = Callable[[str, dict[str, Any]], None]
"""``validator(op_name, args)``: returns, or raises InvalidArgument."""

_validators: dict[Callable[..., Any], Validator] = {}

# Parameter kinds, numbered as inspect.Parameter's; _EMPTY: no default, no annotation.
# A plain function's parameters are read off its code object, as inspect.signature
# reads them: importing inspect (with ast, dis, tokenize…) cost every process ~9 ms.
_POSITIONAL_ONLY, _POSITIONAL_OR_KEYWORD, _VAR_POSITIONAL, _KEYWORD_ONLY, _VAR_KEYWORD = range(5)
_EMPTY: Any = object()
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


class _Param(typing.NamedTuple):
    name: str
    kind: int
    has_default: bool
    annotation: Any


def _parameters(handler: Callable[..., Any]) -> list[_Param]:
    """``inspect.signature(handler).parameters``, in the little the validators need."""
    code = getattr(handler, "__code__", None)
    if (type(handler) is not types.FunctionType or code is None
            or hasattr(handler, "__wrapped__") or hasattr(handler, "__signature__")):
        import inspect  # a wrapper, a partial, a builtin…: inspect knows them all
        empty = inspect.Parameter.empty
        return [_Param(p.name, int(p.kind), p.default is not empty,
                       _EMPTY if p.annotation is empty else p.annotation)
                for p in inspect.signature(handler).parameters.values()]
    names = code.co_varnames
    n_pos, n_posonly, n_kwonly = code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount
    n_defaults = len(handler.__defaults__ or ())
    kwdefaults = handler.__kwdefaults__ or {}
    hints = handler.__annotations__
    params = [_Param(name, _POSITIONAL_ONLY if i < n_posonly else _POSITIONAL_OR_KEYWORD,
                     i >= n_pos - n_defaults, hints.get(name, _EMPTY))
              for i, name in enumerate(names[:n_pos])]
    at = n_pos + n_kwonly
    if code.co_flags & _CO_VARARGS:
        params.append(_Param(names[at], _VAR_POSITIONAL, False, hints.get(names[at], _EMPTY)))
        at += 1
    params += [_Param(name, _KEYWORD_ONLY, name in kwdefaults, hints.get(name, _EMPTY))
               for name in names[n_pos:n_pos + n_kwonly]]
    if code.co_flags & _CO_VARKEYWORDS:
        params.append(_Param(names[at], _VAR_KEYWORD, False, hints.get(names[at], _EMPTY)))
    return params


def validator_for(handler: Callable[..., Any]) -> Validator:
    """The compiled argument checker of ``handler``, made on first use and kept."""
    validator = _validators.get(handler)
    if validator is None:
        validator = _validators[handler] = _compile(handler)
    return validator


def check_arguments(handler: Callable[..., Any], op_name: str, args: dict[str, Any]) -> None:
    """Refuse missing, unexpected or mistyped arguments with InvalidArgument."""
    validator = _validators.get(handler)
    if validator is None:
        validator = validator_for(handler)
    validator(op_name, args)


class _Shape:
    """What bind(None, None, **args) needs of a signature, worked out once."""

    def __init__(self, handler: Callable[..., Any]) -> None:
        params = _parameters(handler)
        # the two positional Nones: a keyword naming the parameter one of them
        # fills is "multiple values"; no parameter for one is "too many positional"
        self.shadowed: list[str] = []
        self.static_error: str | None = None
        i = 0
        for _ in range(2):
            if i >= len(params) or params[i].kind in (_VAR_KEYWORD, _KEYWORD_ONLY):
                self.static_error = "too many positional arguments"
                break
            param = params[i]
            i += 1
            if param.kind == _VAR_POSITIONAL:   # *args swallows what is left
                break
            if param.kind != _POSITIONAL_ONLY:
                self.shadowed.append(param.name)
        # the parameters left, filled by keyword, in order: (name, positional-only, required)
        self.keyword: list[tuple[str, bool, bool]] = []
        self.var_keyword = False
        for param in params[i:]:
            if param.kind == _VAR_KEYWORD:
                self.var_keyword = True
            elif param.kind != _VAR_POSITIONAL:
                self.keyword.append((param.name, param.kind == _POSITIONAL_ONLY,
                                     not param.has_default))
        self.allowed = frozenset(n for n, posonly, _ in self.keyword if not posonly)
        self.required = frozenset(n for n, _, req in self.keyword if req)
        self.forbidden = frozenset(self.shadowed) | frozenset(
            n for n, posonly, _ in self.keyword if posonly)
        # name → (isinstance classes or None for unchecked, bool accepted, type name)
        self.checks: dict[str, tuple[tuple[type, ...] | None, bool, str]] = {}
        for param in params:
            hint = _resolve_hint(handler, param.annotation)
            if hint is not None:
                classes, bool_ok = _compile_hint(hint)
                self.checks[param.name] = (classes, bool_ok, _type_name(hint))

    def bind_error(self, args: dict[str, Any]) -> str | None:
        """The TypeError text bind would raise for ``args``, or None."""
        for name in self.shadowed:
            if name in args:
                return f"multiple values for argument {name!r}"
        if self.static_error is not None:
            return self.static_error
        for name, posonly, required in self.keyword:
            if name in args:
                if posonly:
                    return f"{name!r} parameter is positional only, but was passed as a keyword"
            elif required:
                return f"missing a required argument: {name!r}"
        if not self.var_keyword:
            allowed = self.allowed
            for name in args:
                if name not in allowed:
                    return f"got an unexpected keyword argument {name!r}"
        return None

    def explain(self, op_name: str, args: dict[str, Any]) -> None:
        """Raise the InvalidArgument bind-then-typecheck would raise for ``args``."""
        error = self.bind_error(args)
        if error is not None:   # it may hold a 64 KiB argument name: keep it short
            raise InvalidArgument(f"{op_name}: {error:.200}")
        checks = self.checks
        for name, value in args.items():
            check = checks.get(name)
            if check is not None and not _accepts(check[0], check[1], value):
                raise InvalidArgument(
                    f"{op_name}: argument {name!r} must be {check[2]}, "
                    f"got {type(value).__name__}")


def _accepts(classes: tuple[type, ...] | None, bool_ok: bool, value: Any) -> bool:
    return classes is None or (isinstance(value, classes)
                             and (bool_ok or not isinstance(value, bool)))


def _compile(handler: Callable[..., Any]) -> Validator:
    shape = _Shape(handler)
    explain = shape.explain
    if shape.static_error is not None or shape.var_keyword:
        # rare shapes (no handler has them today): exact, just not tuned
        def validate_any(op_name: str, args: dict[str, Any]) -> None:
            explain(op_name, args)
        return validate_any

    # one lookup per argument: known? checked how? required?
    specs: dict[str, tuple[tuple[type, ...] | None, bool, bool]] = {}
    for name, _posonly, required in shape.keyword:
        if name in shape.allowed:
            classes, bool_ok, _ = shape.checks.get(name, (None, True, ""))
            specs[name] = (classes, bool_ok, required)
    n_required = len(shape.required)
    get = specs.get

    def validate(op_name: str, args: dict[str, Any]) -> None:
        missing = n_required
        for name, value in args.items():
            spec = get(name)
            if spec is None:
                break
            classes, bool_ok, required = spec
            if required:
                missing -= 1
            if classes is not None and (not isinstance(value, classes)
                                      or (not bool_ok and isinstance(value, bool))):
                break
        else:
            if not missing:
                return
        explain(op_name, args)

    return validate


class _Matcher(type):
    """isinstance(value, m) is ``_matches(value, m.expected)``: for the hints whose
    classes have their own ``__instancecheck__`` (ABCs), kept exact, not inlined."""

    expected: Any

    def __instancecheck__(cls, value: Any) -> bool:
        return _matches(value, cls.expected)


def _compile_hint(expected: Any) -> tuple[tuple[type, ...] | None, bool]:
    """A hint as (classes for isinstance, bool accepted?); (None, _) when anything goes.

    ``_matches`` says what a hint accepts; this is the same, flattened: a union is
    the union of its alternatives' classes, and a bool gets in only if some
    alternative takes bools (int and float alternatives do not)."""
    classes: list[type] = []
    bool_ok = False
    for alt in _alternatives(expected):
        if alt is Any:
            return None, True
        if alt is type(None):
            classes.append(type(None))
            continue
        cls = typing.get_origin(alt) or alt
        if not isinstance(cls, type):
            return None, True
        if cls is float:
            classes += (int, float)
        elif cls is int:
            classes.append(int)
        elif cls is bytes:
            classes += (bytes, bytearray)
        elif cls in (list, tuple):
            classes += (list, tuple)
        elif type(cls) is type:
            classes.append(cls)
            bool_ok = bool_ok or issubclass(bool, cls)
        else:
            return (_Matcher("matches", (), {"expected": expected}),), True
    return tuple(dict.fromkeys(classes)), bool_ok


def _alternatives(expected: Any) -> list[Any]:
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        return [a for alt in typing.get_args(expected) for a in _alternatives(alt)]
    return [expected]


def _resolve_hint(handler: Callable[..., Any], annotation: Any) -> Any:
    """An annotation as a type; None when absent or not resolvable (then unchecked)."""
    if annotation is _EMPTY:
        return None
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, getattr(handler, "__globals__", {}))  # noqa: S307 (own source)
    except Exception:
        return None


def _matches(value: Any, expected: Any) -> bool:
    """Does ``value`` fit the hint ``expected``?  The rule ``_compile_hint`` compiles."""
    if expected is Any:
        return True
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, alt) for alt in typing.get_args(expected))
    if expected is type(None):
        return value is None
    cls = origin or expected
    if not isinstance(cls, type):
        return True
    if cls is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if cls is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if cls is bytes:
        return isinstance(value, bytes | bytearray)
    if cls in (list, tuple):
        return isinstance(value, list | tuple)
    return isinstance(value, cls)


def _type_name(expected: Any) -> str:
    return getattr(expected, "__name__", None) or str(expected).replace("typing.", "")


__all__ = ["BadMessage", "Context", "Deferred", "Sender", "Server", "ServerFault", "op"]
