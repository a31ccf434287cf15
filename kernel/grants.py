"""Shared memory by grant: regions, grants, and the checks on both.

MINIX 3's grants (``cpf_grant_direct``: "endpoint E may access these bytes of
mine, read or read-write") and Zircon's VMOs are the models.  Only the kernel
makes a region (a memfd) and only it hands one out, over the process's
descriptor link (libipc/fdlink.py), so every mapping passed a check here:

    shm_create(size)                → region id; the caller holds it, read-write
    shm_grant(region, ep, writable) → grant id, for that endpoint only; the caller
                                      must hold the region (read-write to grant
                                      writable) and be linked to ``ep`` by the
                                      call graph, either way (may_grant)
    shm_map(grant)                  → the grantee holds the region, read-only
                                      unless the grant is writable (the kernel
                                      then sends a read-only descriptor)
    shm_revoke(grant)               → the grant cannot be mapped any more; the
                                      granter only.  A mapping made before stays:
                                      the kernel cannot unmap another process's
                                      memory (MINIX's safecopy checks each copy;
                                      a mapping is a copy made once)
    shm_close(region)               → the caller no longer holds it

A region lives while some process holds it: when its last holder closes it or
exits, the kernel closes its memfd and its grants are stale.  Unknown, stale,
revoked and someone else's grant ids are all PermissionDenied, as a forged
message is.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kernel.admit import allowed
from libipc import fdlink
from libipc.errors import InvalidArgument, PermissionDenied, TooManyCalls, WouldBlock

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.proc import Proc

MAX_REGION = 1 << 30            # bytes in one region
MAX_TOTAL = 8 << 30             # bytes in all regions (memfds take memory only when touched)
MAX_HELD = 256                  # regions one process holds at once
MAX_HELD_PRIVILEGED = 4096      # ... a privileged one (the pipe server holds one per pipe,
                                # up to 1024; net two per connection, up to 512)
MAX_CREATED = 2 << 30           # bytes in the live regions one unprivileged process made
                                # (else one could take all of MAX_TOTAL from everyone)
MAX_GRANTS = 64 * 1024          # grants at once, all regions together
MAX_GRANTS_EACH = 4096          # grants one process has made and not revoked (else one
                                # process's loop would use up MAX_GRANTS for everyone)


@dataclass(eq=False)
class Region:
    id: int
    fd: int
    size: int
    creator: int = 0                                           # its endpoint
    holders: dict[int, bool] = field(default_factory=dict)   # endpoint -> writable
    grants: set[int] = field(default_factory=set)


@dataclass(eq=False)
class Grant:
    id: int
    region: Region
    granter: int
    grantee: int
    writable: bool


class Grants:
    def __init__(self) -> None:
        self.regions: dict[int, Region] = {}
        self.grants: dict[int, Grant] = {}
        self.total = 0
        self.made: dict[int, int] = {}   # granter endpoint -> its grants alive
        self.created: dict[int, int] = {}   # creator endpoint -> bytes of its live regions

    # -- calls --------------------------------------------------------------------------
    def create(self, k: Kernel, caller: Proc, size: int) -> dict:
        if not 0 < size <= MAX_REGION:
            raise InvalidArgument(f"shm_create: size must be 1 to {MAX_REGION} bytes")
        if self.total + size > MAX_TOTAL:
            raise TooManyCalls(f"shm_create: regions hold {self.total} bytes already")
        mine = self.created.get(caller.endpoint, 0)
        if not caller.privileged and mine + size > MAX_CREATED:
            raise TooManyCalls(f"shm_create: {caller.name}'s regions hold {mine} bytes "
                               f"already (at most {MAX_CREATED})")
        self._check_room(caller)
        fd = os.memfd_create(f"nk-shm-{caller.name}", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(fd, size)
            # sealed: a writable holder that shrank the memfd would make every other
            # mapper's access past the new end a SIGBUS — a client could crash fs
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                        fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
        except OSError as exc:
            os.close(fd)
            raise InvalidArgument(f"shm_create: {exc.strerror}") from None
        region = Region(_new_id(self.regions), fd, size, caller.endpoint)
        self.regions[region.id] = region
        self.total += size
        self.created[caller.endpoint] = mine + size
        try:
            extra = self._hand_over(caller, region, writable=True, tag=f"r{region.id}")
        except BaseException:
            self._free(region)
            raise
        region.holders[caller.endpoint] = True
        return {"region": region.id, "size": size, **extra}

    def grant(self, k: Kernel, caller: Proc, target: Proc, region_id: int,
              writable: bool) -> int:
        region = self._held(caller, region_id)
        if writable and not region.holders[caller.endpoint]:
            raise PermissionDenied("shm_grant: a read-only holder cannot grant writing")
        if not may_grant(caller, target):
            raise PermissionDenied(f"shm_grant: {caller.name} may not reach {target.name}")
        if self.made.get(caller.endpoint, 0) >= MAX_GRANTS_EACH:
            raise TooManyCalls(f"shm_grant: {caller.name} has {MAX_GRANTS_EACH} grants "
                               "already (revoke some)")
        if len(self.grants) >= MAX_GRANTS:
            raise TooManyCalls("shm_grant: too many grants")
        grant = Grant(_new_id(self.grants), region, caller.endpoint, target.endpoint,
                      bool(writable))
        self.grants[grant.id] = grant
        region.grants.add(grant.id)
        self.made[caller.endpoint] = self.made.get(caller.endpoint, 0) + 1
        return grant.id

    def map(self, k: Kernel, caller: Proc, grant_id: int) -> dict:
        grant = self.grants.get(grant_id)
        if grant is None or grant.grantee != caller.endpoint:
            raise PermissionDenied(f"shm_map: no grant {grant_id} for {caller.name}")
        region = grant.region
        if caller.endpoint not in region.holders:
            self._check_room(caller)
        extra = self._hand_over(caller, region, writable=grant.writable, tag=f"g{grant_id}")
        region.holders[caller.endpoint] = region.holders.get(caller.endpoint, False) \
            or grant.writable
        return {"region": region.id, "size": region.size, "writable": grant.writable, **extra}

    def revoke(self, k: Kernel, caller: Proc, grant_id: int) -> bool:
        grant = self.grants.get(grant_id)
        if grant is None or grant.granter != caller.endpoint:
            raise PermissionDenied(f"shm_revoke: {caller.name} made no grant {grant_id}")
        self._drop_grant(grant)
        return True

    def close(self, k: Kernel, caller: Proc, region_id: int) -> bool:
        region = self._held(caller, region_id)
        self._let_go(region, caller.endpoint)
        return True

    # -- the kernel's own book-keeping ---------------------------------------------------
    def exited(self, proc: Proc) -> None:
        """A process is gone: it holds nothing, its grants go with it."""
        for region in [r for r in self.regions.values() if proc.endpoint in r.holders]:
            self._let_go(region, proc.endpoint)
        for grant in [g for g in self.grants.values()
                      if proc.endpoint in (g.granter, g.grantee)]:
            self._drop_grant(grant)

    def close_all(self) -> None:
        for region in list(self.regions.values()):
            self._free(region)

    def held_by(self, proc: Proc) -> int:
        return sum(proc.endpoint in r.holders for r in self.regions.values())

    # -- helpers -------------------------------------------------------------------------
    def _held(self, caller: Proc, region_id: int) -> Region:
        region = self.regions.get(region_id)
        if region is None or caller.endpoint not in region.holders:
            raise PermissionDenied(f"{caller.name} holds no region {region_id}")
        return region

    def _check_room(self, caller: Proc) -> None:
        limit = MAX_HELD_PRIVILEGED if caller.privileged else MAX_HELD
        if self.held_by(caller) >= limit:
            raise TooManyCalls(f"{caller.name} holds {limit} regions already")

    def _hand_over(self, caller: Proc, region: Region, writable: bool, tag: str) -> dict:
        """Send the region's descriptor (read-only unless ``writable``) to ``caller``; a
        server in the kernel process is given a descriptor number instead."""
        mode = os.O_RDWR if writable else os.O_RDONLY
        fd = os.open(f"/proc/self/fd/{region.fd}", mode | os.O_CLOEXEC)
        if caller.hosted is not None:
            return {"fd": fd}   # the same process: its number is the capability
        try:
            if caller.fdlink is None or not fdlink.send(caller.fdlink, tag, fd):
                raise WouldBlock(f"{caller.name} has not taken the descriptors sent to it")
        finally:
            os.close(fd)
        return {}

    def _let_go(self, region: Region, endpoint: int) -> None:
        region.holders.pop(endpoint, None)
        if not region.holders:
            self._free(region)

    def _drop_grant(self, grant: Grant) -> None:
        if self.grants.pop(grant.id, None) is not None:
            self._unmade(grant)
        grant.region.grants.discard(grant.id)

    def _unmade(self, grant: Grant) -> None:
        left = self.made.get(grant.granter, 0) - 1
        if left > 0:
            self.made[grant.granter] = left
        else:
            self.made.pop(grant.granter, None)

    def _free(self, region: Region) -> None:
        for grant_id in list(region.grants):
            grant = self.grants.pop(grant_id, None)
            if grant is not None:
                self._unmade(grant)
        region.grants.clear()
        if self.regions.pop(region.id, None) is not None:
            self.total -= region.size
            left = self.created.get(region.creator, 0) - region.size
            if left > 0:
                self.created[region.creator] = left
            else:
                self.created.pop(region.creator, None)
            os.close(region.fd)


def may_grant(src: Proc, dst: Proc) -> bool:
    """The call graph either way: a client grants to a server it may call, a server to
    any client that may call it ("*" included: memory offered harms no one)."""
    return (src is dst or src.privileged or dst.parent == src.endpoint
            or allowed(src, dst) or allowed(dst, src))


def _new_id(taken: dict) -> int:
    """Unguessable (a grant id is shown to no one but its grantee), never 0."""
    while True:
        n = secrets.randbits(62) + 1
        if n not in taken:
            return n
