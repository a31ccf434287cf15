"""cffi build module for libipc's C core (the `libipc._nkffi` extension).

setup.py names this file in `cffi_modules`; nothing else imports it.  The cdef
is read from nk_cdef.h (declarations only); the real layouts and constants come
from the C headers when the extension is compiled (cffi API mode, which also
releases the GIL around every call).
"""

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent

ffi = FFI()
# One cdef file per header: the ring and messages, the on-disk fs format, a pipe's region.
for cdef in ("nk_cdef.h", "nk_fs_cdef.h", "nk_pipe_cdef.h"):
    ffi.cdef((HERE / cdef).read_text())
ffi.set_source(
    "libipc._nkffi",
    '#include "nk_api.h"\n#include "nk_fs.h"\n#include "nk_pipe.h"\n',
    sources=["csrc/nk_ring.c", "csrc/nk_signal.c", "csrc/nk_pipe.c"],
    include_dirs=["csrc"],
    depends=[str(p.relative_to(HERE.parent)) for p in sorted(HERE.glob("*.[ch]"))],
    extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
)

if __name__ == "__main__":
    ffi.compile(tmpdir="build", verbose=True)
