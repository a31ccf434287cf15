"""The compiled argument validators (libipc/server.py) against the checker they replaced.

``reference_check`` below is the old ``check_arguments``, kept here word for word
(``inspect.Signature.bind`` plus ``_matches``): the reference model.  For every
handler in the table — each annotation kind, each parameter kind — and for
tables and random dicts of arguments, the compiled validator must accept what
the model accepts and refuse what it refuses with the same message.  A few
messages are also pinned as text, so the model itself cannot drift.
"""

from __future__ import annotations

import collections.abc
import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libipc.errors import InvalidArgument
from libipc.server import _EMPTY, Context, _parameters, check_arguments, validator_for

# -- the reference model: the checker before it was compiled ------------------------
_ref_cache: dict[Callable[..., Any], tuple[inspect.Signature, dict[str, Any]]] = {}


def reference_check(handler: Callable[..., Any], op_name: str, args: dict[str, Any]) -> None:
    sig, hints = _ref_signature(handler)
    try:
        sig.bind(None, None, **args)
    except TypeError as exc:
        raise InvalidArgument(f"{op_name}: {exc!s:.200}") from None
    for name, value in args.items():
        expected = hints.get(name)
        if expected is not None and not _ref_matches(value, expected):
            raise InvalidArgument(
                f"{op_name}: argument {name!r} must be {_ref_type_name(expected)}, "
                f"got {type(value).__name__}")


def _ref_signature(handler: Callable[..., Any]) -> tuple[inspect.Signature, dict[str, Any]]:
    cached = _ref_cache.get(handler)
    if cached is None:
        sig = inspect.signature(handler)
        hints = {}
        for name, param in sig.parameters.items():
            hint = _ref_resolve_hint(handler, param.annotation)
            if hint is not None:
                hints[name] = hint
        cached = _ref_cache[handler] = (sig, hints)
    return cached


def _ref_resolve_hint(handler: Callable[..., Any], annotation: Any) -> Any:
    if annotation is inspect.Parameter.empty:
        return None
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, getattr(handler, "__globals__", {}))  # noqa: S307
    except Exception:
        return None


def _ref_matches(value: Any, expected: Any) -> bool:
    if expected is Any:
        return True
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_ref_matches(value, alt) for alt in typing.get_args(expected))
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


def _ref_type_name(expected: Any) -> str:
    return getattr(expected, "__name__", None) or str(expected).replace("typing.", "")


def outcome(check: Callable[..., None], handler: Callable[..., Any],
            args: dict[str, Any]) -> str | None:
    """None when accepted, else the InvalidArgument's message."""
    try:
        check(handler, "op", dict(args))
    except InvalidArgument as exc:
        return exc.message
    return None


def assert_same(handler: Callable[..., Any], args: dict[str, Any]) -> str | None:
    expected = outcome(reference_check, handler, args)
    assert expected == outcome(check_arguments, handler, args)
    assert expected == outcome(lambda h, o, a: validator_for(h)(o, a), handler, args)
    return expected


# -- handlers: every annotation kind and parameter kind ------------------------------
class Colour(enum.Enum):
    RED = 1


class Point(typing.NamedTuple):
    x: int
    y: int


def h_plain(self, ctx: Context, s: str, i: int, f: float, b: bool, by: bytes,
            li: list, tu: tuple, d: dict) -> None: ...
def h_optional(self, ctx: Context, oi: int | None, os: typing.Optional[str],  # noqa: UP045
               ol: list | None = None) -> None: ...
def h_unions(self, ctx, ib: int | bool, fs: float | str, bl: bytes | list,
             u: typing.Union[int, str, None] = 0) -> None: ...  # noqa: UP007
def h_any(self, ctx, a: Any, oa: Any | None = None, x=None, y=3) -> None: ...
def h_generics(self, ctx, li: list[int], d: dict[str, int], t: tuple[int, ...],
               s: set[str] | None = None, ty: type[int] | None = None) -> None: ...
def h_odd(self, ctx, lit: typing.Literal["a", "b"], cb: collections.abc.Callable,
          seq: collections.abc.Sequence, col: Colour, unknown: NoSuchName,  # noqa: F821
          p: Point | None = None, o: object = None) -> None: ...
def h_defaults(self, ctx, a: int, b: str = "x", c: bool = False, d: float = 1.0) -> None: ...
def h_kwonly(self, ctx, a: int, *, k: str, m: int = 2) -> None: ...
def h_varkw(self, ctx, a: int, **rest: int) -> None: ...
def h_varargs(self, ctx, *more: int, a: int = 0) -> None: ...
def h_posonly(self, ctx, /, a: int) -> None: ...
def h_posonly_late(self, ctx, a: int, /, b: int = 0) -> None: ...
def h_one(self) -> None: ...
def h_none() -> None: ...
def h_kwfirst(self, *, a: int) -> None: ...
def h_none_hint(self, ctx, n: None, a: int = 0) -> None: ...
def h_kernel(k, caller, ep: int, signal_name: str = "KILL", acl: list | None = None) -> dict: ...


def h_objects(self, ctx, a, b, c=None, d=None, e=None) -> None: ...


# real annotation objects, not strings: the path of a module without the __future__ import
h_objects.__annotations__ = {"a": int, "b": int | None, "c": float | bytes,
                             "d": typing.Optional[list], "e": Any}  # noqa: UP045

HANDLERS = [h_plain, h_optional, h_unions, h_any, h_generics, h_odd, h_defaults, h_kwonly,
            h_varkw, h_varargs, h_posonly, h_posonly_late, h_one, h_none, h_kwfirst,
            h_none_hint, h_kernel, h_objects]

VALUES = [None, True, False, 0, 1, -5, 2**70, 1.5, 0.0, "", "s", b"", b"b", bytearray(b"ba"),
          [], [1, "x"], (), (1, 2), {}, {"k": 1}, {1, 2}, Colour.RED, Point(1, 2), len, int,
          object()]

GOOD_PLAIN = {"s": "x", "i": 1, "f": 1.0, "b": True, "by": b"", "li": [], "tu": (), "d": {}}


def params_of(handler: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(handler).parameters)


class TestTable:
    @pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
    def test_each_value_for_each_parameter(self, handler) -> None:
        """Every parameter alone, and with the others filled, with every kind of value."""
        names = params_of(handler)
        for name in names:
            for value in VALUES:
                assert_same(handler, {name: value})
                base = {n: 1 for n in names[2:]}
                assert_same(handler, {**base, name: value})

    @pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
    def test_missing_extra_and_shadowing(self, handler) -> None:
        names = params_of(handler)
        assert_same(handler, {})
        assert_same(handler, {"zzz": 1})
        assert_same(handler, {"self": 1})
        assert_same(handler, {"ctx": 1, "zzz": 2})
        assert_same(handler, {n: 1 for n in names})
        assert_same(handler, {n: 1 for n in names[2:]})
        assert_same(handler, {"zzz": 1, **{n: 1 for n in names[2:]}})
        assert_same(handler, {**{n: "s" for n in names[2:]}, "zzz": 1})
        assert_same(handler, {"\x01" * 65_000: 1})

    def test_plain_types(self) -> None:
        assert assert_same(h_plain, GOOD_PLAIN) is None
        assert_same(h_plain, {**GOOD_PLAIN, "by": bytearray(b"x")})
        assert assert_same(h_plain, {**GOOD_PLAIN, "li": (1, 2), "tu": [1]}) is None
        assert assert_same(h_plain, {**GOOD_PLAIN, "f": 3}) is None

    def test_pinned_messages(self) -> None:
        """The texts themselves, as callers (and the tutorial) see them."""
        cases = [
            (h_plain, {**GOOD_PLAIN, "i": True}, "op: argument 'i' must be int, got bool"),
            (h_plain, {**GOOD_PLAIN, "f": False}, "op: argument 'f' must be float, got bool"),
            (h_plain, {**GOOD_PLAIN, "s": 1}, "op: argument 's' must be str, got int"),
            (h_plain, {**GOOD_PLAIN, "by": "x"}, "op: argument 'by' must be bytes, got str"),
            (h_plain, {**GOOD_PLAIN, "li": {}}, "op: argument 'li' must be list, got dict"),
            (h_optional, {"oi": "x", "os": None},
             "op: argument 'oi' must be int | None, got str"),
            (h_optional, {"oi": None, "os": 1},
             "op: argument 'os' must be Optional, got int"),   # typing's __name__, as ever
            (h_plain, {}, "op: missing a required argument: 's'"),
            (h_defaults, {"a": 1, "q": 2}, "op: got an unexpected keyword argument 'q'"),
            (h_defaults, {"a": 1, "ctx": 2}, "op: multiple values for argument 'ctx'"),
            (h_posonly_late, {"a": 1},
             "op: 'a' parameter is positional only, but was passed as a keyword"),
            (h_one, {}, "op: too many positional arguments"),
            (h_kwonly, {"a": 1}, "op: missing a required argument: 'k'"),
        ]
        for handler, args, message in cases:
            assert message == assert_same(handler, args)

    def test_bind_errors_come_before_type_errors(self) -> None:
        """A mistyped argument before an unknown one: the unknown one is reported."""
        message = assert_same(h_defaults, {"a": "x", "q": 2})
        assert "unexpected keyword argument 'q'" in message
        message = assert_same(h_defaults, {"b": 1})
        assert "missing a required argument: 'a'" in message
        message = assert_same(h_defaults, {"b": 1, "a": "x", "c": 1})
        assert "argument 'b' must be str" in message   # the first mismatch, in arrival order

    def test_long_names_stay_short(self) -> None:
        message = assert_same(h_defaults, {"a": 1, "\x01" * 65_000: 1})
        assert len(message) < 300

    def test_accepts_what_annotations_allow(self) -> None:
        for args in ({"oi": None, "os": None}, {"oi": 3, "os": "x", "ol": (1,)}):
            assert assert_same(h_optional, args) is None
        for value in (True, 1, 0):
            assert assert_same(h_unions, {"ib": value, "fs": 1, "bl": ()}) is None
        assert assert_same(h_unions, {"ib": 1, "fs": True, "bl": b""}) is not None
        for value in VALUES:
            assert assert_same(h_any, {"a": value, "oa": value, "x": value, "y": value}) is None
        assert assert_same(h_varkw, {"a": 1, "anything": "goes", "rest": "x"}) is not None
        assert assert_same(h_varkw, {"a": 1, "anything": "goes", "rest": 1}) is None
        assert assert_same(h_varargs, {}) is None

    def test_the_validator_is_compiled_once(self) -> None:
        assert validator_for(h_plain) is validator_for(h_plain)


# -- random argument dicts -------------------------------------------------------------
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=4),
    st.binary(max_size=4), st.binary(max_size=4).map(bytearray),
    st.sampled_from([Colour.RED, Point(1, 2), len, int, {1}]))
values = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=3), inner, max_size=3)), max_leaves=6)


@st.composite
def handler_and_args(draw: st.DrawFn) -> tuple[Callable[..., Any], dict[str, Any]]:
    handler = draw(st.sampled_from(HANDLERS))
    names = st.sampled_from([*params_of(handler), "zzz", "self", "ctx", "rest", "more"])
    args = draw(st.dictionaries(names | st.text(max_size=3), values, max_size=8))
    return handler, args


class TestRandom:
    @settings(max_examples=1500, deadline=None)
    @given(handler_and_args())
    def test_same_verdict_and_message_as_bind(self, case) -> None:
        handler, args = case
        assert_same(handler, args)

    @settings(max_examples=400, deadline=None)
    @given(st.data())
    def test_well_formed_calls_of_real_ops(self, data) -> None:
        """The ops of the real servers and the kernel calls, with their own parameter names."""
        handler = data.draw(st.sampled_from(real_handlers()))
        names = params_of(handler)
        args = data.draw(st.dictionaries(st.sampled_from([*names, "zzz"]), values, max_size=6))
        assert_same(handler, args)


_real: list[Callable[..., Any]] = []


def real_handlers() -> list[Callable[..., Any]]:
    if not _real:
        import importlib
        import pkgutil

        import servers
        from kernel.syscalls import CALLS
        from libipc.server import Server
        for module in pkgutil.walk_packages(servers.__path__, "servers."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
        todo = list(Server.__subclasses__())
        while todo:
            cls = todo.pop()
            todo += cls.__subclasses__()
            _real.extend(cls.ops.values())
        _real.extend(handler for handler, _ in CALLS.values())
    return _real


def test_real_ops_are_many() -> None:
    assert len(real_handlers()) > 40


def _decorated(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


class _WithMethods:
    def method(self, ctx, a: int, *, b: str = "") -> None: ...

    @classmethod
    def klass(cls, ctx, a: int) -> None: ...

    @staticmethod
    def static(self, ctx, *rest, a: int, **kw) -> None: ...


EXTRA_CALLABLES = [
    lambda self, ctx, a, b=1, *c, d, e=2, **f: None,
    lambda: None,
    _decorated(h_kwonly), _decorated(h_posonly_late),
    functools.partial(h_defaults, None),
    _WithMethods.method, _WithMethods.klass, _WithMethods.static, _WithMethods().method,
    len, dict.get,
]


class TestParameters:
    @pytest.mark.parametrize("handler", HANDLERS + EXTRA_CALLABLES,
                             ids=lambda h: getattr(h, "__name__", type(h).__name__))
    def test_as_inspect_signature(self, handler) -> None:
        """The parameters read off a code object are inspect.signature's, kind for kind."""
        empty = inspect.Parameter.empty
        expected = [(p.name, int(p.kind), p.default is not empty,
                     None if p.annotation is empty else p.annotation)
                    for p in inspect.signature(handler).parameters.values()]
        got = [(p.name, p.kind, p.has_default,
                None if p.annotation is _EMPTY else p.annotation)
               for p in _parameters(handler)]
        assert expected == got

    @pytest.mark.parametrize("handler", EXTRA_CALLABLES[:9],
                             ids=lambda h: getattr(h, "__name__", type(h).__name__))
    def test_validators_of_other_callables(self, handler) -> None:
        """Decorated handlers, partials, methods: the validator still follows the model."""
        names = params_of(handler)
        for args in ({}, {"zzz": 1}, {n: 1 for n in names}, {n: 1 for n in names[2:]},
                     {n: "s" for n in names[2:]}):
            assert_same(handler, args)
