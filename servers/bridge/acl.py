"""Which remote callers may call what: boot.toml's ``[remote]``, checked by the bridge.

    [remote]
    a = ["fs", "echo", "@signal"]   # node a may call fs and echo, and signal processes
    "*" = ["@public"]               # every trusted node: the public servers

Deny by default: a node (or a name) not listed is refused with PermissionDenied.  A
peer's entry adds to "*"'s.  "@public" is every server booted ``public = true`` but the
console (name it to allow it).  init, naming, the bridge and the kernel are never
callable (nor, for "@signal", signalled) from another node.
The node is the one the caller's CURVE key is trusted as (link.py's ZAP): a node can
only ever speak for itself.
"""

from __future__ import annotations

from collections.abc import Callable

from libipc.errors import PermissionDenied

NEVER = {"init", "naming", "bridge", "kernel"}   # not for other nodes, whatever [remote]
                             # says: init's start/stop/crash, naming's register, signals
NOT_PUBLIC = {"console"}     # public here, but not in a peer's "@public": the terminal's
                             # input is this node's user's (name it to allow it)


class RemoteAcl:
    def __init__(self, rules: dict[str, list[str]]) -> None:
        self.rules = rules

    def names(self, node: str) -> list[str]:
        return [*self.rules.get(node, []), *self.rules.get("*", [])]

    def check(self, node: str | None, target: object,
              is_public: Callable[[str], bool]) -> None:
        if not isinstance(node, str):
            raise PermissionDenied("a remote call from an unknown node")
        if not isinstance(target, str):
            raise PermissionDenied("a remote call names its server by name")
        names = self.names(node)
        if target not in NEVER and (target in names
                                    or ("@public" in names and target not in NOT_PUBLIC
                                        and is_public(target))):
            return
        raise PermissionDenied(f"node {node} may not call {target!r} here "
                               "(this node's [remote] in boot.toml)")

    def may_signal(self, node: str | None) -> bool:
        return isinstance(node, str) and "@signal" in self.names(node)
