"""kv — a key-value store server (labs/kv-server, the reference solution).

Why a server: in a microkernel a "device" is just a process with a name that
answers calls.  This one keeps string values under string keys in its own
memory, and shows a driver's first duty: trust no caller.  Every request is
checked before anything changes; a bad one is answered with an error and the
server goes on serving (MINIX's servers answer an illegal request with an
error code, they never die of it).

Ops (keyword arguments, as every libipc call):
    put(key, value)   -> bool       store value under key; True if the key is new
    get(key)          -> str        the value; NoSuchKey if there is none
    delete(key)       -> None       remove the key; NoSuchKey if there is none
    keys(prefix="")   -> [str]      the keys that start with prefix, sorted
    count()           -> int        how many keys are stored

Limits: a key is 1 to MAX_KEY bytes of printable UTF-8; a value at most
MAX_VALUE bytes (UTF-8); at most MAX_KEYS keys.  Past a limit: InvalidArgument
(a bad key or value) or NoSpace (the store is full).  Wrong types and missing or
extra arguments are refused by libipc itself, from the annotations below.

State lives in this process only: when kv dies, init restarts it empty.
"""

from __future__ import annotations

from libipc import InvalidArgument, IpcError, NoSpace, Server, op

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
        _check_key("put", key)
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_VALUE:
            raise InvalidArgument(f"put: a value is at most {MAX_VALUE} bytes, not {size}")
        new = key not in self.data
        if new and len(self.data) >= MAX_KEYS:
            raise NoSpace(f"put: the store is full ({MAX_KEYS} keys)")
        self.data[key] = value
        return new

    @op
    def get(self, ctx, key: str) -> str:
        _check_key("get", key)
        try:
            return self.data[key]
        except KeyError:
            raise NoSuchKey(f"get: no key {key!r}") from None

    @op
    def delete(self, ctx, key: str) -> None:
        _check_key("delete", key)
        if self.data.pop(key, None) is None:
            raise NoSuchKey(f"delete: no key {key!r}")

    @op
    def keys(self, ctx, prefix: str = "") -> list:
        return sorted(k for k in self.data if k.startswith(prefix))

    @op
    def count(self, ctx) -> int:
        return len(self.data)


def _check_key(where: str, key: str) -> None:
    """A key is 1 to MAX_KEY bytes of printable text (it is shown in messages)."""
    if not key:
        raise InvalidArgument(f"{where}: a key must not be empty")
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY:
        raise InvalidArgument(f"{where}: a key is at most {MAX_KEY} bytes, not {size}")
    if not key.isprintable():
        raise InvalidArgument(f"{where}: a key must be printable, not {key!r:.80}")


if __name__ == "__main__":
    KV.main()
