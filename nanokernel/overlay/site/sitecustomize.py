"""Loaded at start-up by every Python process of a ``boot --lab DIR`` (it is on
PYTHONPATH only then): installs the overlay finder before the first import of
the project.  Loaded by path, not imported, so nothing of the project's is
imported before the finder is in place."""

import importlib.util
import os
import sys
from pathlib import Path

_root = os.environ.get("NK_LAB")
if _root:
    _file = Path(__file__).resolve().parent.parent / "finder.py"
    _spec = importlib.util.spec_from_file_location("_nk_overlay_finder", _file)
    _finder = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = _finder   # what overlay.installed_for looks for
    _spec.loader.exec_module(_finder)
    _finder.install(Path(_root))
