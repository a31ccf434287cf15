"""Grader of labs/kv-server: the kv server, called with the shell's `call kv OP JSON`.

Each test is one boot.  Its commands are separated by `echo` markers, so each
command's output is checked on its own (``steps``): a line that matches the
wrong command cannot pass.  Keys and values are fresh random tokens per run.
"""

from __future__ import annotations

import json
import re

from nanokernel.labs.gradelib import Grade, test

MAX_VALUE = 1024    # bytes of a value (README: Limits)
MARK = "=== step"


def steps(g: Grade, commands: list[str], timeout: float = 60) -> tuple[list[str], str]:
    """Run ``commands`` in one boot: (each command's output, the whole output)."""
    script = "; ".join(f"echo '{MARK} {i}'; {c}" for i, c in enumerate(commands))
    run = g.boot(script, timeout=timeout)
    parts = re.split(rf"^{MARK} (\d+)$", run.out, flags=re.M)
    got = {int(parts[i]): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    missing = [c for i, c in enumerate(commands) if i not in got]
    if missing:
        g.fail(f"the boot stopped before {missing[0]!r} ran (exit status {run.rc})")
    return [got[i] for i in range(len(commands))], run.out


def call(op: str, **args: object) -> str:
    """The shell command `call kv OP 'JSON'` (the JSON has no single quote)."""
    return f"call kv {op} '{json.dumps(args)}'" if args else f"call kv {op}"


def expect_reply(g: Grade, out: str, value: object, what: str) -> None:
    g.expect(out, rf"^{re.escape(json.dumps(value))}$", f"{what}: the reply {json.dumps(value)}")


def expect_error(g: Grade, out: str, op: str, code: str, what: str) -> None:
    g.expect(out, rf"^call: kv\.{op}: .*: {code}$", f"{what}: the error {code}")


@test(10)
def put_then_get(g: Grade) -> None:
    key, value = g.secret(), g.secret()
    out, _ = steps(g, [call("put", key=key, value=value), call("get", key=key)])
    expect_reply(g, out[0], True, "put of a new key")
    expect_reply(g, out[1], value, "get of the key just put")


@test(10, parent=put_then_get)
def overwrite(g: Grade) -> None:
    key, first, second = g.secret(), g.secret(), g.secret()
    out, _ = steps(g, [call("put", key=key, value=first), call("put", key=key, value=second),
                       call("get", key=key), call("count")])
    expect_reply(g, out[1], False, "put of a key that is there (not new)")
    expect_reply(g, out[2], second, "get after the overwrite (the second value)")
    expect_reply(g, out[3], 1, "count after two puts of one key")


@test(10, parent=put_then_get)
def delete_then_get(g: Grade) -> None:
    key, other, value = g.secret(), g.secret(), g.secret()
    out, _ = steps(g, [call("put", key=key, value=value), call("put", key=other, value=value),
                       call("delete", key=key), call("get", key=key),
                       call("delete", key=key), call("get", key=other)])
    expect_reply(g, out[2], None, "delete of a stored key")
    expect_error(g, out[3], "get", "NoSuchKey", "get of a deleted key")
    g.expect(out[3], re.escape(key), "the NoSuchKey message names the key")
    expect_error(g, out[4], "delete", "NoSuchKey", "delete of a key that is not there")
    expect_reply(g, out[5], value, "get of another key (delete took only its own)")


@test(10, parent=put_then_get)
def keys_listing(g: Grade) -> None:
    prefix = g.secret(4)
    with_prefix = sorted({prefix + g.secret(4) for _ in range(g.rng.randint(2, 4))})
    others = [("y" if prefix[0] == "z" else "z") + g.secret()]   # (not starting with prefix)
    everything = sorted(with_prefix + others)
    order = everything[:]
    g.rng.shuffle(order)
    commands = [call("put", key=k, value=g.secret()) for k in order]
    out, _ = steps(g, [call("keys"), *commands, call("keys"), call("keys", prefix=prefix)])
    expect_reply(g, out[0], [], "keys of an empty store")
    expect_reply(g, out[-2], everything, "keys: every key, sorted")
    expect_reply(g, out[-1], with_prefix, f"keys with prefix {prefix!r}: those keys only, sorted")


@test(15, parent=put_then_get)
def bad_input(g: Grade) -> None:
    key, value = g.secret(), g.secret()
    big = "v" * (MAX_VALUE + g.rng.randint(1, 200))
    wide = "é" * (MAX_VALUE // 2 + 1)   # fewer characters than MAX_VALUE, more bytes
    cases = [
        ("put", call("put", key=g.rng.randint(1, 999), value=value), "a key that is a number"),
        ("get", call("get", key=["a", "list"]), "a key that is a list"),
        ("put", call("put", key=key), "put without a value"),
        ("get", call("get"), "get without a key"),
        ("put", call("put", key=g.secret(), value=big), f"a value of {len(big)} bytes"),
        ("put", call("put", key=g.secret(), value=wide), "a value of 1026 bytes of UTF-8"),
        ("put", call("put", key="", value=value), "an empty key"),
        ("put", call("put", key="k" * 65, value=value), "a key of 65 bytes"),
    ]
    out, whole = steps(g, [call("put", key=key, value=value), *(c for _, c, _ in cases),
                           call("frobnicate", key=key),
                           call("put", key=g.secret(), value="v" * MAX_VALUE),
                           call("get", key=key)])
    for (op, _, what), text in zip(cases, out[1:], strict=False):
        expect_error(g, text, op, "InvalidArgument", what)
    expect_error(g, out[-3], "frobnicate", "NoSuchOp", "an unknown op")
    expect_reply(g, out[-2], True, f"a value of exactly {MAX_VALUE} bytes (the limit) is taken")
    expect_reply(g, out[-1], value, "get after the bad requests (the server still serves)")
    g.expect_not(whole, r"^kv (exited|was killed|hung)", "kv never died of the bad input")


@test(10, parent=put_then_get)
def restarted_after_kill(g: Grade) -> None:
    key, value, later, again = g.secret(), g.secret(), g.secret(), g.secret()
    out, whole = steps(g, [call("put", key=key, value=value), "kill kv", call("get", key=key),
                           call("put", key=later, value=again), call("get", key=later)])
    g.expect(whole, r"^kv was killed by SIGKILL, restarting", "init says it restarts kv")
    g.expect(out[2], rf"^(call: kv\.get: .*: NoSuchKey|{re.escape(json.dumps(value))})$",
             "the restarted kv answers get (NoSuchKey: its state was lost)")
    expect_reply(g, out[3], True, "put to the restarted kv")
    expect_reply(g, out[4], again, "get from the restarted kv")
