"""Memory-mapped files: fs's half of ``libipc.mmap`` (a mixin of the fs server).

A mapped file is a shared-memory region (libipc/shm.py) that fs fills with the
file's bytes and grants to each mapper; every mapper of one file maps the same
region, so a write by one is seen by the others at once.  Its bytes go back to
the file when a mapper asks (``msync``), when the last mapper lets go
(``munmap``), and when fs stops (a clean halt), each time through fs's ordinary
writes: logged and committed like any write.

    mmap(path, writable=False) → {grant, size}   map it with libipc.shm.map
    msync(path, region=0)      → int             bytes written back (writable maps)
    munmap(path, region=0)     → None            this mapper is done

A mapping belongs to the file (its inode), not to a name: write-back goes to the
inode wherever it has been renamed (msync and munmap find the mapping by its
``region`` id when given, by ``path`` otherwise), and a file unlinked while mapped
(or replaced by a rename) leaves its mappers a nameless copy: fs forgets the
mapping at once and writes it nowhere, so no other file ever gets its bytes.

Limits and what is not kept in step (documented in docs/ipc.md):
* a file of 0 bytes cannot be mapped (POSIX's EINVAL), nor one over MAX_MAPPED;
* a mapping keeps the size the file had when it was first mapped: ``write`` and
  ``truncate`` through fs do not change the region, and a write-back writes the
  whole region (a file truncated under a writable mapping grows back on msync);
* a mapper that dies without munmap stays counted (fs is not told of exits)
  until the table of mapped files is full: then fs asks the kernel which of its
  mappers are gone, and lets their files go (written back) before it refuses.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from libipc import InvalidArgument, IpcError, NoSuchEndpoint, op, shm
from libipc.client import kernel

MAX_MAPPED = 256 << 20      # bytes in one mapped file
MAX_FILES = 64              # files mapped at once
CHUNK = 60 * 1024           # bytes per read/write of the file while filling or writing back


@dataclass(eq=False)
class Mapped:
    path: str
    region: Any
    size: int
    inum: int
    mappers: dict[int, int] = field(default_factory=dict)    # endpoint -> its mappings
    grants: dict[int, int] = field(default_factory=dict)     # endpoint -> its last grant
    writable: bool = False        # some mapper may have written: write back


class Mappings:
    """Mixed into the fs server (servers/fs/server.py)."""

    def _mapped(self) -> dict[int, Mapped]:
        return self.__dict__.setdefault("_mapped_files", {})

    @op
    def mmap(self, ctx, path: str, writable: bool = False) -> dict:
        """A grant of a region holding ``path``'s bytes, for the caller only."""
        st = self._run(lambda fs: fs.stat(path))
        if st["type"] != "file":
            raise InvalidArgument(f"mmap: {path}: not a regular file")
        if not 0 < st["size"] <= MAX_MAPPED:
            raise InvalidArgument(f"mmap: {path}: size {st['size']} is not 1 to {MAX_MAPPED}")
        mapped = self._mapped().get(st["inum"])
        if mapped is None:
            mapped = self._map_new(path, st)
        grant = mapped.region.grant(ctx.sender.endpoint, writable=bool(writable))
        self._revoke(mapped, ctx.sender.endpoint)   # one grant per mapper: fs's stay bounded
        mapped.grants[ctx.sender.endpoint] = grant
        mapped.mappers[ctx.sender.endpoint] = mapped.mappers.get(ctx.sender.endpoint, 0) + 1
        mapped.writable = mapped.writable or bool(writable)
        return {"grant": grant, "size": mapped.size}

    @op
    def msync(self, ctx, path: str, region: int = 0) -> int:
        """Write the mapping of ``path`` (or of ``region``) back to the file now."""
        return self._write_back(self._mapping_of(ctx, path, region))

    @op
    def munmap(self, ctx, path: str, region: int = 0) -> None:
        """The caller is done with ``path`` (or ``region``); the last mapper's munmap
        writes back."""
        mapped = self._mapping_of(ctx, path, region)
        left = mapped.mappers.pop(ctx.sender.endpoint) - 1
        if left:   # its other mapping of the file is still live
            mapped.mappers[ctx.sender.endpoint] = left
            return
        self._revoke(mapped, ctx.sender.endpoint)
        if not mapped.mappers:
            self._release(mapped)

    def stop_mappings(self) -> None:
        """fs is stopping: every mapping goes back to its file first."""
        for mapped in list(self._mapped().values()):
            try:
                self._release(mapped)
            except IpcError as exc:   # one file's failure must not cost the others (or unmount)
                self.log.error("write_back_failed", path=mapped.path, error=str(exc))

    def forget_unlinked(self) -> None:
        """After an unlink or rename: a mapped file no name leads to any more is
        forgotten (its inode may be reused by another file)."""
        for mapped in list(self._mapped().values()):
            if not self._run(lambda fs, i=mapped.inum: fs.linked(i)):
                self._mapped().pop(mapped.inum, None)
                mapped.region.close()

    # -- helpers --------------------------------------------------------------------
    def _map_new(self, path: str, st: dict) -> Mapped:
        if len(self._mapped()) >= MAX_FILES:
            self._forget_the_dead()
        if len(self._mapped()) >= MAX_FILES:
            raise InvalidArgument(f"mmap: {MAX_FILES} files are mapped already")
        region = shm.create(st["size"])
        try:
            for offset in range(0, st["size"], CHUNK):
                data = self._run(lambda fs, o=offset: fs.read(path, o, CHUNK))
                region.buf[offset:offset + len(data)] = data
        except BaseException:
            region.close()
            raise
        mapped = self._mapped()[st["inum"]] = Mapped(path, region, st["size"], st["inum"])
        return mapped

    def _mapping_of(self, ctx, path: str, region: int = 0) -> Mapped:
        if region:
            mapped = next((m for m in self._mapped().values() if m.region.id == region), None)
        else:
            mapped = self._mapped().get(self._run(lambda fs: fs.stat(path))["inum"])
        if mapped is None or ctx.sender.endpoint not in mapped.mappers:
            raise InvalidArgument(f"{path}: not mapped by {ctx.sender.name}")
        if not region:
            mapped.path = path   # (it may have been renamed since: for the log only)
        return mapped

    def _write_back(self, mapped: Mapped) -> int:
        if not mapped.writable:
            return 0   # nobody could write to it
        buf = mapped.region.buf
        for offset in range(0, mapped.size, CHUNK):
            chunk = bytes(buf[offset:offset + CHUNK])
            while chunk:   # by inode: the file's name may have changed since it was mapped
                n = self._change(lambda fs, o=offset, c=chunk: fs.write_inode(mapped.inum, o, c))
                if not n:
                    break
                offset, chunk = offset + n, chunk[n:]
        return mapped.size

    def _forget_the_dead(self) -> None:
        """Mappers that exited without munmap let go; a file none maps goes back."""
        alive: dict[int, bool] = {}
        for mapped in list(self._mapped().values()):
            for endpoint in list(mapped.mappers):
                if endpoint not in alive:
                    alive[endpoint] = _alive(endpoint)
                if not alive[endpoint]:
                    del mapped.mappers[endpoint]
                    mapped.grants.pop(endpoint, None)   # the kernel dropped it at the exit
            if not mapped.mappers:
                try:
                    self._release(mapped)
                except IpcError as exc:
                    self.log.error("write_back_failed", path=mapped.path, error=str(exc))

    def _revoke(self, mapped: Mapped, endpoint: int) -> None:
        """The grant fs made ``endpoint`` for ``mapped`` (mapped already, or never
        will be) goes: fs's grants would otherwise pile up, one per mmap call."""
        grant = mapped.grants.pop(endpoint, None)
        if grant is not None:
            with contextlib.suppress(IpcError):   # dropped already: the grantee exited
                mapped.region.revoke(grant)

    def _release(self, mapped: Mapped) -> None:
        try:
            self._write_back(mapped)
        finally:
            self._mapped().pop(mapped.inum, None)
            mapped.region.close()


def _alive(endpoint: int) -> bool:
    try:
        kernel().whoami(ep=endpoint)
    except NoSuchEndpoint:
        return False
    return True
