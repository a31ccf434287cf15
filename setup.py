"""Only wires the cffi extension (csrc/build_ffi.py); all metadata lives in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["csrc/build_ffi.py:ffi"])
