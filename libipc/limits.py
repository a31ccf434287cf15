"""limits — every size and count limit of the system, defined here once.

The kernel enforces ``max_message`` (a message body's bytes) and ``max_calls``
(calls one process may have outstanding); the boot configuration's
``[limits]`` table may change both, within ``LIMIT_RANGES``.  Everything that
must fit in one message — an fs read reply, a block transfer, a device read —
derives its size from the message limit here, never from a copy of "64 KiB".

Rules:
  - a body of ``data_per_message(max_message)`` bytes of payload plus its
    msgpack framing always fits in one message (``FRAMING`` is generous);
  - a process asks the kernel's ``stats()["max_message"]`` when the boot may
    have changed the default, and falls back to ``DEFAULT_MAX_MESSAGE``.
"""

from __future__ import annotations

DEFAULT_MAX_MESSAGE = 64 * 1024      # bytes of body per message (kernel-enforced)
DEFAULT_MAX_CALLS = 16               # outstanding calls per process (kernel-enforced)
FRAMING = 4 * 1024                   # msgpack framing and arguments around bulk data
MAX_WAIT_S = 86400.0                 # the longest timeout a sem/mq/net wait takes (a day)

# [limits] in boot.toml: key -> (lowest, highest) accepted value
LIMIT_RANGES = {"max_message": (1024, 16 * 1024 * 1024), "max_calls": (1, 1024)}


def data_per_message(max_message: int = DEFAULT_MAX_MESSAGE) -> int:
    """Bytes of payload (file data, blocks, device bytes) one message can carry."""
    return max_message - min(FRAMING, max_message // 4)


DATA_PER_MESSAGE = data_per_message()   # 60 KiB with the default limit
