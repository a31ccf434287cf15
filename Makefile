# nanokernel — the README's two commands live here.
#   make boot   set up (.venv, cffi extension) and boot to the shell
#   make test   set up and run the whole test suite
# Set-up is idempotent: it reinstalls only when pyproject/setup.py/csrc change.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.nanokernel-installed
ARGS   ?=

.PHONY: setup fuse boot test stress bench readme-bench lint clean demo-net

setup: $(STAMP) fuse

$(STAMP): pyproject.toml setup.py MANIFEST.in $(wildcard csrc/*)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setup: installing nanokernel into $(VENV) (editable, with the test, net and plot extras)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,net,plot]'
	@touch $(STAMP)

# The fuse extra (pyfuse3) on every set-up, not only the first: a host that gets
# libfuse3 after the venv was made gets `nanokernel mount` on its next make.
fuse: $(STAMP)
	@if $(PY) -c 'import pyfuse3' >/dev/null 2>&1; then :; \
	elif command -v fusermount3 >/dev/null 2>&1 && pkg-config --exists fuse3 2>/dev/null; then \
	  echo "setup: installing the fuse extra (pyfuse3) for nanokernel mount"; \
	  $(PY) -m pip install --quiet --disable-pip-version-check -e '.[fuse]' \
	    || echo "setup: pyfuse3 did not build: nanokernel mount and its tests are off"; \
	else \
	  echo "setup: no libfuse3/fusermount3: nanokernel mount and its tests are off; install them with: apt-get install fuse3 libfuse3-dev"; \
	fi

boot: setup
	@$(VENV)/bin/nanokernel boot $(ARGS)

test: setup
	@$(PY) -m pytest $(ARGS)

stress: setup
	@NK_STRESS=long $(PY) -m pytest -m stress $(ARGS)

bench: setup
	@$(VENV)/bin/nanokernel bench $(ARGS)

# Rewrite README.md's bench blocks (<!-- bench:NAME --> markers) from one run.
readme-bench: setup
	@$(PY) -m nanokernel.bench.readme $(ARGS)

# Three nodes on loopback, one workload across them (examples/net_demo.py, docs/network.md).
demo-net: setup
	@$(PY) examples/net_demo.py

lint: setup
	@$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build dist *.egg-info libipc/_nkffi.* .pytest_cache .hypothesis
