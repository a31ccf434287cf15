"""What a node is, from the environment ``nanokernel boot --node`` sets (cli.py) and
boot.toml's ``[remote]``:

    NK_NODE    this node's name
    NK_LISTEN  where its bridge listens for peers (tcp://HOST:PORT), or unset
    NK_PEERS   "a=tcp://127.0.0.1:7001,c=tcp://10.0.0.3:7001": the peers it links to
    NK_KEYS    the key directory: NODE.key its own, *.pub the nodes it trusts
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from libipc.remote import NODE_RE
from servers.bridge.keys import KeyFileError, own_keys, public_key_of, trusted_keys


class NodeConfError(Exception):
    """A node flag that cannot work; ``str()`` is the one line to show."""


@dataclass
class NodeConf:
    node: str
    listen: str | None = None
    peers: dict[str, str] = field(default_factory=dict)
    keys_dir: str | None = None
    keys: tuple[bytes, bytes] | None = None          # (public, secret) of this node
    trusted: dict[bytes, str] = field(default_factory=dict)
    peer_keys: dict[str, bytes | None] = field(default_factory=dict)
    remote: dict[str, list[str]] = field(default_factory=dict)


def check_address(address: str, what: str) -> str:
    parts = urlsplit(address)
    if parts.scheme != "tcp" or not parts.hostname or parts.port is None:
        raise NodeConfError(f"{what}: {address!r} is not tcp://HOST:PORT")
    return address


def is_loopback(address: str) -> bool:
    host = urlsplit(address).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_peers(text: str) -> dict[str, str]:
    peers: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, eq, address = item.partition("=")
        if not eq or not NODE_RE.match(name):
            raise NodeConfError(f"--peer {item!r}: expected NAME=tcp://HOST:PORT")
        peers[name] = check_address(address, f"--peer {name}")
    return peers


def check_flags(node: str, listen: str | None, peers: dict[str, str],
                keys_dir: str | None) -> None:
    """What ``boot`` refuses before booting (one clear line each)."""
    if not NODE_RE.match(node):
        raise NodeConfError(f"--node {node!r}: 1-32 of a-z, 0-9, _ and -, starting with a letter")
    if node in peers:
        raise NodeConfError(f"--peer {node}: a node is not its own peer")
    if listen is not None:
        check_address(listen, "--listen")
        if keys_dir is None and not is_loopback(listen):
            raise NodeConfError(
                f"--listen {listen}: refusing to listen beyond this machine without --keys "
                "(anyone who reaches the port could call this node's servers); make keys "
                "with `nanokernel keys DIR NAME...` and boot with --keys DIR")
    if keys_dir is not None:
        try:
            own_keys(keys_dir, node)
        except KeyFileError as exc:
            raise NodeConfError(f"--keys: {exc}") from None


def node_conf(env: dict[str, str]) -> NodeConf:
    """The bridge's view of the node, from its environment and boot.toml."""
    from servers.bootconfig import config_path, load
    node = env.get("NK_NODE", "")
    conf = NodeConf(node=node, listen=env.get("NK_LISTEN") or None,
                    peers=parse_peers(env.get("NK_PEERS", "")),
                    keys_dir=env.get("NK_KEYS") or None)
    if conf.keys_dir:
        conf.keys = own_keys(conf.keys_dir, node)
        conf.trusted = trusted_keys(conf.keys_dir)
        conf.peer_keys = {p: public_key_of(conf.keys_dir, p) for p in conf.peers}
    conf.remote = load(config_path(env)).remote
    return conf
