"""CURVE keys of the nodes: ``nanokernel keys DIR NAME...`` makes them, the bridge reads
them.

    DIR/NAME.key   the node's secret key (and its public one), mode 0600
    DIR/NAME.pub   its public key: a node booted with ``--keys DIR`` trusts exactly the
                   ``*.pub`` of DIR, each under its file's name

Both are ZeroMQ's certificate format (ZPL), read with ``zmq.auth.load_certificate``.
"""

from __future__ import annotations

import os
from pathlib import Path

from libipc.remote import NODE_RE

HEADER = "#   nanokernel node {name}: {what}\n#   made by `nanokernel keys`\n"


class KeyFileError(Exception):
    """A key directory or file that cannot be used; ``str()`` is the line to show."""


def _cert(name: str, public: bytes, secret: bytes | None) -> str:
    what = "secret key — keep it on this node only" if secret else "public key"
    lines = [HEADER.format(name=name, what=what), "metadata\n", f'    node = "{name}"\n',
             "curve\n", f'    public-key = "{public.decode()}"\n']
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode()}"\n')
    return "".join(lines)


def make_keys(directory: str | Path, names: list[str], force: bool = False) -> list[Path]:
    """A key pair per name in ``directory`` (made if missing); the files written."""
    import zmq
    directory = Path(directory)
    for name in names:
        if not NODE_RE.match(name):
            raise KeyFileError(f"{name!r}: a node name is 1-32 of a-z, 0-9, _ and -, "
                            "starting with a letter")
        if not force and (directory / f"{name}.key").exists():
            raise KeyFileError(f"{directory / name}.key exists (pass --force to replace it)")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        public, secret = zmq.curve_keypair()
        secret_file = directory / f"{name}.key"
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(_cert(name, public, secret))
        os.chmod(secret_file, 0o600)
        (directory / f"{name}.pub").write_text(_cert(name, public, None))
        written += [secret_file, directory / f"{name}.pub"]
    return written


def own_keys(directory: str | Path, node: str) -> tuple[bytes, bytes]:
    """(public, secret) of ``node`` from DIR/NODE.key."""
    import zmq.auth
    path = Path(directory) / f"{node}.key"
    if not path.is_file():
        raise KeyFileError(f"{path}: no secret key for node {node!r} "
                        f"(make one: nanokernel keys {directory} {node})")
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (ValueError, OSError) as exc:
        raise KeyFileError(f"{path}: not a key file ({exc})") from None
    if not secret:
        raise KeyFileError(f"{path}: holds no secret key")
    return public, secret


def trusted_keys(directory: str | Path) -> dict[bytes, str]:
    """public key (z85) -> node name, for every DIR/*.pub."""
    import zmq.auth
    trusted: dict[bytes, str] = {}
    for path in sorted(Path(directory).glob("*.pub")):
        try:
            public, _ = zmq.auth.load_certificate(path)
        except (ValueError, OSError):
            continue   # (not a key: the bridge logs the keys it trusts)
        if NODE_RE.match(path.stem):
            trusted[public] = path.stem
    return trusted


def public_key_of(directory: str | Path, node: str) -> bytes | None:
    """The public key DIR trusts for ``node``, or None."""
    for public, name in trusted_keys(directory).items():
        if name == node:
            return public
    return None
