"""The layout's rules, read from the code: who may import whom, and the kernel stays small.

DESIGN.md (Layout): the kernel imports libipc's wire layer and no server;
libipc imports neither the kernel nor a server; a server imports libipc (and
its own package), never the kernel; block imports nothing of fs; only the
front end (nanokernel/) imports kernel and servers both.  Imports are found
with ``ast`` — those inside functions too — so a lazy import cannot hide.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kernel", "libipc", "servers", "nanokernel")


def modules_imported(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


def files_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in files_of(package):
        for module in modules_imported(path):
            if module.split(".")[0] in forbidden or any(
                    module == f or module.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    return bad


class TestImportRules:
    @pytest.mark.parametrize("package,forbidden", [
        ("kernel", ("servers", "nanokernel")),
        ("libipc", ("kernel", "servers", "nanokernel")),
        ("servers", ("kernel", "nanokernel")),
    ])
    def test_a_package_imports_only_what_is_below_it(self, package, forbidden):
        """kernel ↛ servers, libipc ↛ kernel/servers, servers ↛ kernel (nor the front end)."""
        assert [] == offenders(package, forbidden)

    def test_the_block_driver_imports_nothing_of_the_filesystem(self):
        """block sits below fs: the code both use is below both."""
        block = [ROOT / "servers" / "block.py", *sorted((ROOT / "servers").glob("block/*.py"))]
        bad = [f"{p.name} imports {m}" for p in block if p.exists()
               for m in modules_imported(p) if m == "servers.fs" or m.startswith("servers.fs.")]
        assert [] == bad

    def test_the_rule_reader_sees_imports(self, tmp_path):
        """The checker itself can fail: a function-level import is found."""
        probe = ROOT / "kernel" / "_probe_for_test.py"
        probe.write_text("def f():\n    from servers.fs import mkfs\n")
        try:
            assert ["kernel/_probe_for_test.py imports servers.fs"] == offenders(
                "kernel", ("servers",))
        finally:
            probe.unlink()


def lines_of(package: str) -> int:
    return sum(len(p.read_text().splitlines()) for p in files_of(package))


class TestTheKernelIsTheSmallestPart:
    def test_the_kernel_has_fewer_lines_than_libipc_and_the_servers(self):
        """The kernel is the smallest part (DESIGN.md): fewer lines than libipc, than servers."""
        kernel = lines_of("kernel")
        assert kernel < lines_of("libipc")
        assert kernel < lines_of("servers")

    def test_no_front_end_is_left_in_the_kernel(self):
        """Benchmarks and the command line live in nanokernel/, not kernel/."""
        assert not (ROOT / "kernel" / "bench").exists()
        assert not (ROOT / "kernel" / "cli.py").exists()
