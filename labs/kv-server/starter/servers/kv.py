"""kv — a key-value store server (labs/kv-server: you write this one).

Why a server: in a microkernel a "device" is just a process with a name that
answers calls.  This one keeps string values under string keys in its own
memory.  Its first duty is a driver's: trust no caller.  Check every request
before anything changes; answer a bad one with an error (an IpcError subclass)
and go on serving.  A server must never die of its input.

Ops (keyword arguments, as every libipc call):
    put(key, value)   -> bool       store value under key; True if the key is new
    get(key)          -> str        the value; NoSuchKey if there is none
    delete(key)       -> None       remove the key; NoSuchKey if there is none
    keys(prefix="")   -> [str]      the keys that start with prefix, sorted
    count()           -> int        how many keys are stored (done: a model to copy)

Limits: a key is 1 to MAX_KEY bytes of printable UTF-8; a value at most
MAX_VALUE bytes (UTF-8); at most MAX_KEYS keys.  Past a limit: InvalidArgument
(a bad key or value) or NoSpace (the store is full).

State lives in this process only: when kv dies, init restarts it empty.
"""

from __future__ import annotations

from libipc import IpcError, NoSuchOp, Server, op

MAX_KEY = 64            # bytes of a key
MAX_VALUE = 1024        # bytes of a value
MAX_KEYS = 10_000       # keys in the store


class NoSuchKey(IpcError):
    """get/delete of a key that is not stored (the code travels as "NoSuchKey")."""


class KV(Server):
    name = "kv"

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}

    @op
    def put(self, ctx, key: str, value: str) -> bool:
        """Store ``value`` under ``key``; True when the key was not there before."""
        # TODO: check the key (see _check_key) and the value's size (MAX_VALUE bytes
        # of UTF-8, else InvalidArgument), refuse a new key when the store is full
        # (NoSpace), store it, return whether it is new.
        raise NoSuchOp("put: not written yet (labs/kv-server/README.md)")

    @op
    def get(self, ctx, key: str) -> str:
        # TODO: the value, or NoSuchKey naming the key.
        raise NoSuchOp("get: not written yet (labs/kv-server/README.md)")

    @op
    def delete(self, ctx, key: str) -> None:
        # TODO: remove the key, or NoSuchKey naming the key.
        raise NoSuchOp("delete: not written yet (labs/kv-server/README.md)")

    @op
    def keys(self, ctx, prefix: str = "") -> list:
        # TODO: the keys starting with prefix, sorted.
        raise NoSuchOp("keys: not written yet (labs/kv-server/README.md)")

    @op
    def count(self, ctx) -> int:
        return len(self.data)


def _check_key(where: str, key: str) -> None:
    """A key is 1 to MAX_KEY bytes of printable text; else InvalidArgument."""
    # TODO: an empty key, one longer than MAX_KEY bytes (encoded as UTF-8) or one
    # that is not printable (str.isprintable) is InvalidArgument("WHERE: what is wrong").


if __name__ == "__main__":
    KV.main()
