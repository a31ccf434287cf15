"""Proxy: attribute calls, the per-op method cache, re-resolving a stale name.

A fake runtime records the calls; naming's ``resolve`` asks it too (endpoint 2,
op ``lookup``), so a test sees every look-up the proxy makes."""

from __future__ import annotations

from typing import Any

import pytest

from libipc import naming
from libipc.client import Proxy
from libipc.errors import NoSuchEndpoint, ServerDied


class FakeRuntime:
    def __init__(self, endpoints: list[int], fail: dict[int, type[Exception]] | None = None):
        self.endpoints = list(endpoints)   # what successive naming look-ups answer
        self.fail = fail or {}             # endpoint → error its calls raise
        self.calls: list[tuple[int, str, dict[str, Any], float | None]] = []

    def call(self, dst: int, op: str, args: dict[str, Any] | None = None,
             timeout: float | None = None) -> Any:
        self.calls.append((dst, op, args, timeout))
        if dst == naming.NAMING and op == "lookup":
            return self.endpoints.pop(0)
        if dst in self.fail:
            raise self.fail[dst](f"endpoint {dst}")
        return {"dst": dst, "op": op, "args": args}

    def send(self, dst: int, op: str, args: dict[str, Any] | None = None) -> None:
        self.calls.append((dst, op, args, None))


@pytest.fixture(autouse=True)
def _fresh_names():
    naming._cache.clear()
    yield
    naming._cache.clear()


def test_any_op_name_is_a_call_with_keyword_arguments():
    rt = FakeRuntime([])
    p = Proxy(7, timeout=2.5, runtime=rt)
    assert {"dst": 7, "op": "read", "args": {"path": "/a"}} == p.read(path="/a")
    assert {"dst": 7, "op": "read", "args": {}} == p.read()
    assert {"dst": 7, "op": "no-such-identifier", "args": {"x": 1}} == getattr(
        p, "no-such-identifier")(x=1)
    assert [(7, "read", {"path": "/a"}, 2.5), (7, "read", {}, 2.5),
            (7, "no-such-identifier", {"x": 1}, 2.5)] == rt.calls


def test_a_cached_op_method_calls_the_proxy_it_is_read_from():
    a, b = FakeRuntime([]), FakeRuntime([])
    pa, pb = Proxy(3, runtime=a), Proxy(4, runtime=b)
    ping_a = pa.ping
    pb.ping(text="b")
    ping_a(text="a")
    Proxy(5, runtime=b).ping()
    assert [(3, "ping", {"text": "a"}, None)] == a.calls
    assert [(4, "ping", {"text": "b"}, None), (5, "ping", {}, None)] == b.calls


def test_positional_arguments_are_refused():
    p = Proxy(3, runtime=FakeRuntime([]))
    with pytest.raises(TypeError):
        p.ping("x")


def test_private_names_are_not_ops():
    p = Proxy(3, runtime=FakeRuntime([]))
    for name in ("_x", "__len__", "_endpoint_typo", "__deepcopy__"):
        with pytest.raises(AttributeError):
            getattr(p, name)
    assert not hasattr(p, "_anything")


def test_proxy_attributes_are_not_replaced_by_ops():
    rt = FakeRuntime([])
    p = Proxy(3, runtime=rt)
    assert 3 == p.endpoint
    p.with_timeout(1.0).call("x")
    p.send("y", n=1)
    assert [(3, "x", {}, 1.0), (3, "y", {"n": 1}, None)] == rt.calls
    assert isinstance(Proxy.__dict__["endpoint"], property)


def test_no_such_endpoint_looks_the_name_up_again_and_retries_once():
    rt = FakeRuntime([10, 11], fail={10: NoSuchEndpoint})
    p = Proxy(name="fs", runtime=rt)
    assert {"dst": 11, "op": "read", "args": {"path": "/"}} == p.read(path="/")
    assert [(2, "lookup", {"name": "fs"}, None), (10, "read", {"path": "/"}, None),
            (2, "lookup", {"name": "fs"}, None), (11, "read", {"path": "/"}, None)] == rt.calls
    rt.calls.clear()
    p.read(path="/")   # the new endpoint is kept
    assert [(11, "read", {"path": "/"}, None)] == rt.calls


def test_no_such_endpoint_by_endpoint_is_the_callers():
    rt = FakeRuntime([], fail={10: NoSuchEndpoint})
    with pytest.raises(NoSuchEndpoint):
        Proxy(10, runtime=rt).read()
    assert [(10, "read", {}, None)] == rt.calls


def test_server_died_goes_to_the_caller_and_the_next_call_looks_up_afresh():
    rt = FakeRuntime([10, 12], fail={10: ServerDied})
    p = Proxy(name="fs", runtime=rt)
    with pytest.raises(ServerDied):
        p.write(data=b"x")
    assert [(2, "lookup", {"name": "fs"}, None), (10, "write", {"data": b"x"}, None)] == rt.calls
    assert "fs" not in naming._cache
    rt.calls.clear()
    assert 12 == p.stat()["dst"]
    assert [(2, "lookup", {"name": "fs"}, None), (12, "stat", {}, None)] == rt.calls
