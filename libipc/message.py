"""Messages: the fixed C header (csrc/nk_msg.h) plus a msgpack body.

The header layout and the kind numbers come from the C compiler through cffi;
this module only names them and packs/unpacks bodies.  Body shapes:

    CALL    [op, {args}]
    REPLY   the result (any msgpack value)
    ERROR   {"code": str, "message": str}
    SEND    [op, {args}]           (one-way; no reply)
    NOTIFY  empty; the bits travel in the header's ``id``
    CANCEL  empty; ``id`` names the call withdrawn
"""

from __future__ import annotations

from threading import get_ident, main_thread
from typing import Any

import msgpack

from libipc._nkffi import lib
from libipc.errors import BadMessage

CALL = lib.NK_KIND_CALL
REPLY = lib.NK_KIND_REPLY
ERROR = lib.NK_KIND_ERROR
SEND = lib.NK_KIND_SEND
NOTIFY = lib.NK_KIND_NOTIFY
CANCEL = lib.NK_KIND_CANCEL
FLAG_NONBLOCK = lib.NK_FLAG_NONBLOCK
HEADER_SIZE = lib.NK_HEADER_SIZE
KERNEL = lib.NK_EP_KERNEL

KIND_NAMES = {CALL: "CALL", REPLY: "REPLY", ERROR: "ERROR", SEND: "SEND",
              NOTIFY: "NOTIFY", CANCEL: "CANCEL"}

# Notification bits the kernel itself sends (src = KERNEL).  Bits 8+ are free
# for servers (timers, alarms, device interrupts).
NOTIFY_EXIT = 1 << 0        # a child (or a watched process) exited: call kernel ``wait``
NOTIFY_SIGNAL = 1 << 1      # signals wait in the ring's signal word (libipc/signals.py)
NOTIFY_REGISTERED = 1 << 9  # naming → init: a name was registered (init need not poll)


# ``msgpack.packb`` makes (and mallocs the buffer of) a Packer per call; one kept
# Packer packs in a third of the time.  A Packer is not safe to share, so only the
# main thread uses it (every process's runtime thread), and not re-entered (packing
# is C code, but a finalizer run by the collector in the middle could pack too);
# anyone else takes ``packb``.  The Packer resets itself on an error.
_PACKER_BUF = 256 * 1024   # msgpack's default buffer; a Packer that grew past it is dropped
_packb = msgpack.packb
_unpackb = msgpack.unpackb
_packer = msgpack.Packer(use_bin_type=True, buf_size=_PACKER_BUF).pack
_packer_thread = main_thread().ident
_packing = False


def pack(obj: Any) -> bytes:
    """Encode a body; raise ``BadMessage`` for values msgpack cannot carry."""
    global _packing, _packer
    try:
        if _packing or get_ident() != _packer_thread:
            return _packb(obj, use_bin_type=True)
        _packing = True
        try:
            data = _packer(obj)
        finally:
            _packing = False
    except (TypeError, ValueError, OverflowError) as exc:
        raise BadMessage(f"cannot encode {type(obj).__name__}: {exc}") from None
    if len(data) > _PACKER_BUF:   # do not keep a big buffer for the process's life
        _packer = msgpack.Packer(use_bin_type=True, buf_size=_PACKER_BUF).pack
    return data


def unpack(data: bytes) -> Any:
    """Decode a body; junk gives ``BadMessage``, never another exception."""
    if not data:
        return None
    try:
        return _unpackb(data, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated classes
        raise BadMessage(f"malformed msgpack body ({len(data)} bytes): {exc}") from None


_SEQUENCE = (list, tuple)


def parse_call(body: Any) -> tuple[str, dict[str, Any]]:
    """Check a CALL/SEND body is ``[op, {args}]`` and return its parts."""
    if isinstance(body, _SEQUENCE) and len(body) == 2:
        op, args = body[0], body[1]
        if isinstance(op, str) and isinstance(args, dict):
            for name in args:
                if not isinstance(name, str):
                    raise BadMessage("argument names must be strings")
            return op, args
    raise BadMessage(f"a call body must be [op, {{args}}], got {body!r:.80}")


class Message:
    """One received message; ``body`` is still raw bytes (decode with ``unpack``).

    What ``@dataclass(slots=True)`` would make, written out: importing dataclasses
    (and the inspect it imports) cost every process ~10 ms at start-up."""

    __slots__ = ("src", "dst", "kind", "flags", "id", "body")
    __match_args__ = __slots__

    def __init__(self, src: int, dst: int, kind: int, flags: int, id: int,
                 body: bytes) -> None:
        self.src, self.dst, self.kind, self.flags, self.id, self.body = (
            src, dst, kind, flags, id, body)

    def __repr__(self) -> str:
        return (f"Message(src={self.src!r}, dst={self.dst!r}, kind={self.kind!r}, "
                f"flags={self.flags!r}, id={self.id!r}, body={self.body!r})")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return ((self.src, self.dst, self.kind, self.flags, self.id, self.body)
                == (other.src, other.dst, other.kind, other.flags, other.id, other.body))

    __hash__ = None   # mutable, compared by value: unhashable, as a dataclass is

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, f"kind{self.kind}")
