"""The host-side front end: the `nanokernel` command and what it needs around a boot.

What is here: the command line (cli.py, also ``python -m nanokernel``), where a
boot's files go (paths.py), which disk a boot uses (disk.py), rendering a
trace (trace_render.py), what /proc says about a boot (procfs.py), and the
benchmarks (bench/).

Rules: this is the only package that may import both ``kernel`` and
``servers`` — it is the place that names the system's servers to the kernel
(init is ``servers.init``).  Nothing in ``kernel``, ``servers`` or ``libipc``
imports this package.
"""
