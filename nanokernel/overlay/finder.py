"""The import finder behind ``boot --lab DIR`` (see __init__.py).

Asked for ``servers.fs.inode`` it looks for ``DIR/servers/fs/inode.py`` (or
``DIR/servers/fs/inode/__init__.py``) and, if found, loads that file as the
module; otherwise it says nothing and the normal finders find the package's.
Only the project's own packages are looked up, so a working copy cannot
shadow the standard library by accident.  Self-contained (no project imports):
sitecustomize loads it by path before any project module exists.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

PACKAGES = ("servers", "libipc", "kernel", "nanokernel", "examples")


class OverlayFinder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname.split(".", 1)[0] not in PACKAGES or "." not in fullname:
            return None   # the top-level packages stay the package's
        base = self.root.joinpath(*fullname.split("."))
        package = base / "__init__.py"
        if package.is_file():   # the package's own modules stay reachable behind DIR's
            theirs = importlib.machinery.PathFinder.find_spec(fullname, path)
            where = [str(base), *(theirs.submodule_search_locations or [] if theirs else [])]
            return importlib.util.spec_from_file_location(
                fullname, package, submodule_search_locations=where)
        module = base.with_suffix(".py")
        if module.is_file():
            return importlib.util.spec_from_file_location(fullname, module)
        return None


def install(root: Path) -> None:
    """Put the finder first, once."""
    if not any(isinstance(f, OverlayFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, OverlayFinder(root))
    importlib.machinery.PathFinder.invalidate_caches()
