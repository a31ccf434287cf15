"""The block and fs servers as real processes: serve, persist, refuse bad disks."""

from __future__ import annotations

from pathlib import Path

from servers.fs.mkfs import mkfs
from tests.storage.conftest import fsck_clean


class TestBasic:
    def test_a_ramdisk_boot_serves_files(self, run_session) -> None:
        """On a ramdisk, fs holds /etc/motd and /home, and a written file reads back."""
        s = run_session("basic")
        assert s.returncode == 0, s.log[-3000:]
        assert {"text": "hello, disk\n", "motd": "Welcome t"} == {
            k: s.result[k] for k in ("text", "motd")}
        assert ["hello.txt", "raw.bin"] == [e["name"] for e in s.result["listing"]]

    def test_a_disk_image_is_served_and_stays_clean(self, run_session, tmp_path: Path) -> None:
        """On an image file, the written files are on disk after halt and fsck is clean."""
        image = tmp_path / "disk.img"
        mkfs(image, "4M")
        s = run_session("basic", disk=image)
        assert s.returncode == 0, s.log[-3000:]
        fsck_clean(image)


def _damage_root_inode(image: Path) -> None:
    """Make the root inode a file (type 2), which mount must refuse."""
    from servers.fs.layout import BSIZE, ROOTINO, dinodes, inode_location, parse_superblock
    with open(image, "r+b") as f:
        sb = parse_superblock(f.read(BSIZE))
        block, index = inode_location(sb, ROOTINO)
        f.seek(block * BSIZE)
        buf = bytearray(f.read(BSIZE))
        dinodes(buf)[index].type = 2
        f.seek(block * BSIZE)
        f.write(buf)


class TestPersistence:
    def test_files_written_before_a_clean_halt_are_read_back_by_the_next_boot(
            self, run_session, tmp_path: Path) -> None:
        """Boot, write (no sync), halt; boot again on the image: identical bytes."""
        image = tmp_path / "disk.img"
        mkfs(image, "8M")
        first = run_session("persist_write", disk=image)
        assert first.returncode == 0, first.log[-3000:]
        fsck_clean(image)
        second = run_session("persist_read", disk=image)
        assert second.returncode == 0, second.log[-3000:]
        assert first.result["sha"] == second.result["sha"]
        assert 200 * 1024 + 123 == second.result["size"]
        assert "persistent ✓\n" == second.result["note"]
        assert ["big.bin", "dir", "note.txt"] == second.result["home"]


class TestCrashes:
    def test_fs_sigkilled_between_operations_keeps_synced_files(
            self, run_session, tmp_path: Path) -> None:
        """SIGKILL fs three times; each restart sees every synced file; fsck is clean."""
        image = tmp_path / "disk.img"
        mkfs(image, "8M")
        s = run_session("sigkill", "3", disk=image)
        assert s.returncode == 0, (s.result, s.log[-3000:])
        assert 3 == s.result["rounds"]
        assert 3 == s.log.count("fs exited with -9; restarting")
        fsck_clean(image)


class TestFullDisk:
    def test_no_space_damages_nothing_and_unlink_gives_space_back(
            self, run_session, tmp_path: Path) -> None:
        """Writing past the end is NoSpace; older files intact; unlink frees the blocks."""
        image = tmp_path / "disk.img"
        mkfs(image, "1M")
        s = run_session("fulldisk", disk=image)
        assert s.returncode == 0, (s.result, s.log[-3000:])
        r = s.result
        assert ("NoSpace", "NoSpace") == (r["error"], r["second"])
        assert r["intact"] and r["head"]
        assert 0 == r["full"]
        assert r["size"] == r["written"] or r["size"] > r["written"]
        assert r["after"] >= r["free0"] - 1
        assert 100000 == r["again"]
        fsck_clean(image)


class TestBadInput:
    def test_each_bad_request_gets_its_error(self, run_session) -> None:
        """fs and block answer every malformed request with its own error and go on."""
        s = run_session("badinput")
        assert s.returncode == 0, (s.result, s.log[-3000:])
        r = s.result
        expected = {
            "read_negative_offset": "InvalidArgument", "read_negative_size": "InvalidArgument",
            "read_wrong_type": "InvalidArgument", "read_missing": "FileNotFound",
            "read_dir": "IsADirectory", "relative_path": "InvalidPath",
            "empty_path": "InvalidPath", "name_too_long": "NameTooLong",
            "file_as_dir": "NotADirectory", "readdir_file": "NotADirectory",
            "create_exclusive": "FileExists", "mkdir_existing": "FileExists",
            "unlink_dir": "IsADirectory", "rmdir_nonempty": "DirectoryNotEmpty",
            "rmdir_file": "NotADirectory", "rmdir_root": "InvalidPath",
            "rename_into_itself": "InvalidPath", "write_str": "InvalidArgument",
            "write_negative": "InvalidArgument", "write_huge_offset": "InvalidArgument",
            "truncate_negative": "InvalidArgument", "missing_arg": "InvalidArgument",
            "extra_arg": "InvalidArgument", "no_such_op": "NoSuchOp",
            "block_negative": "InvalidArgument", "block_past_end": "InvalidArgument",
            "block_count_zero": "InvalidArgument", "block_too_many": "InvalidArgument",
            "block_straddles_end": "InvalidArgument", "block_partial_write": "InvalidArgument",
            "block_empty_write": "InvalidArgument", "block_write_past_end": "InvalidArgument",
            "block_wrong_type": "InvalidArgument", "junk_body": "BadMessage",
            "bad_shape": "BadMessage",
        }
        assert expected == {k: r[k] for k in expected}
        assert r["block_write_too_big"] in ("InvalidArgument", "MessageTooLarge")
        assert 60 * 1024 == r["big_read_len"]     # reads are clamped to one message
        assert 64000 == r["big_written"]
        assert ("data", "x") == (r["still_serving"], r["data_intact"])
        assert {"block_size": 4096, "max_blocks": 15, "path": "ramdisk"} == {
            k: r["info"][k] for k in ("block_size", "max_blocks", "path")}


class TestCache:
    def test_repeated_reads_do_not_reach_the_block_server(self, run_session) -> None:
        """After the first read, reads and stats of a file send block no message."""
        s = run_session("cache")
        assert s.returncode == 0, (s.result, s.log[-3000:])
        assert s.result["before"] == s.result["after"]
        assert s.result["routed_per_read"] <= 2.5   # CALL + REPLY (+ the stats call)


class TestDamagedDisks:
    def test_bad_magic_makes_fs_refuse_to_mount(self, run_session, tmp_path: Path) -> None:
        """A bad superblock: fs logs one clear line and exits 78 (no restart helps)."""
        image = tmp_path / "disk.img"
        mkfs(image, "1M")
        with open(image, "r+b") as f:
            f.write(b"JUNKJUNK")
        s = run_session("basic", disk=image, timeout=30)
        assert 100 + 78 == s.returncode
        assert "fs: refusing to mount" in s.log and "bad magic" in s.log

    def test_corrupt_root_inode_makes_fs_refuse_to_mount(
            self, run_session, tmp_path: Path) -> None:
        """A root inode that is not a directory: refused with exit status 78."""
        image = tmp_path / "disk.img"
        mkfs(image, "1M")
        _damage_root_inode(image)
        s = run_session("basic", disk=image, timeout=30)
        assert 100 + 78 == s.returncode
        assert "refusing to mount" in s.log and "root inode" in s.log

    def test_image_cut_to_whole_blocks_is_refused_by_fs(
            self, run_session, tmp_path: Path) -> None:
        """An image cut short (whole blocks): the superblock no longer fits, fs refuses."""
        image = tmp_path / "disk.img"
        mkfs(image, "1M")
        with open(image, "r+b") as f:
            f.truncate(128 * 4096)
        s = run_session("basic", disk=image, timeout=30)
        assert 100 + 78 == s.returncode
        assert "refusing to mount" in s.log

    def test_truncated_image_is_refused_by_block(self, run_session, tmp_path: Path) -> None:
        """An image whose size is not whole blocks: block exits 78 with one clear line."""
        image = tmp_path / "disk.img"
        mkfs(image, "1M")
        with open(image, "r+b") as f:
            f.truncate(100_000)
        s = run_session("basic", disk=image, timeout=30)
        assert 100 + 78 == s.returncode
        assert "block: cannot serve the disk" in s.log and "truncated" in s.log

    def test_missing_image_is_a_clear_error(self, run_session, tmp_path: Path) -> None:
        """NK_DISK naming no file: block exits 1 saying so."""
        s = run_session("basic", disk=tmp_path / "nope.img", timeout=30)
        assert 100 + 78 == s.returncode
        assert "no such disk image" in s.log


class TestModel:
    def test_random_operations_through_the_servers_match_the_model(
            self, run_session, tmp_path: Path) -> None:
        """Hypothesis-driven op sequences via fs → block agree with a dict model; fsck clean."""
        image = tmp_path / "disk.img"
        mkfs(image, "16M")
        s = run_session("model", "100", "40", disk=image, timeout=110)
        assert s.returncode == 0, (s.result or {}).get("error", s.log[-3000:])
        assert s.result["examples"] >= 10
        assert ["etc", "home"] == s.result["root"]
        fsck_clean(image)


class TestThroughTheSystem:
    def test_nanokernel_boot_disk_persists_across_boots(self, boot, tmp_path: Path) -> None:
        """`nanokernel boot --disk IMG -c ...` twice: the second boot reads the first's file."""
        image = tmp_path / "disk.img"
        mkfs(image, "4M")
        first = boot("--disk", str(image), "-c", "echo persisted line > /home/p.txt")
        assert 0 == first.returncode, first.output + first.log[-2000:]
        second = boot("--disk", str(image), "-c", "cat /home/p.txt")
        assert 0 == second.returncode, second.output
        assert "persisted line" in second.stdout
        fsck_clean(image)

    def test_bench_fs_quick_json_has_its_rows(self, nk_env: dict) -> None:
        """`nanokernel bench fs --quick --json` measures every row next to its peer."""
        import json
        import subprocess
        import sys
        proc = subprocess.run([sys.executable, "-m", "nanokernel", "bench", "fs", "--quick",
                               "--json"], env=nk_env, capture_output=True, text=True,
                              timeout=100)
        assert 0 == proc.returncode, proc.stderr
        rows = [json.loads(line) for line in proc.stdout.splitlines()]
        assert [(b, p) for b in ("fs-read-4k", "fs-write-4k", "fs-read-1m")
                for p in ("host-open", "nanokernel")] == [(r["bench"], r["peer"]) for r in rows]
        for r in rows:
            if r["peer"] == "nanokernel":
                assert r["messages_per_op"] >= 1.9 and 0 < r["vs_host"]
        assert all(r["p50_us"] > 0 for r in rows if r["bench"] != "fs-read-1m")
        assert all(r["mb_per_s"] > 0 for r in rows if r["bench"] == "fs-read-1m")


class TestDamagedDiskThroughTheCli:
    def test_fs_says_why_on_the_console_and_is_not_restarted(self, boot, tmp_path: Path) -> None:
        """The user sees fs's reason and one init line; no restart loop; the shell runs."""
        image = tmp_path / "disk.img"
        mkfs(image, "1M")
        with open(image, "r+b") as f:
            f.write(b"JUNKJUNK")
        r = boot("--disk", str(image), "-c", "ls /", timeout=30)
        assert 1 == r.returncode
        assert "fs: refusing to mount" in r.stdout and "bad magic" in r.stdout
        assert "fs exited with 78 (restarting cannot help); not restarting" in r.stdout
        assert "ls: /: NoSuchEndpoint" in r.stdout
        assert "restarting in" not in r.stdout

    def test_an_image_of_the_old_format_says_what_to_do(self, boot, tmp_path: Path) -> None:
        """A version-1 image (60-byte names) is refused with the way out, not a crash."""
        import dataclasses

        from servers.fs.layout import parse_superblock, superblock_bytes
        image = tmp_path / "disk.img"
        mkfs(image, "1M")
        with open(image, "r+b") as f:
            old = dataclasses.replace(parse_superblock(f.read(4096)), version=1)
            f.seek(0)
            f.write(superblock_bytes(old))
        r = boot("--disk", str(image), "-c", "ls /", timeout=30)
        assert 1 == r.returncode
        assert "unsupported version 1 (expected 2); made by an older nanokernel" in r.stdout
        assert "nanokernel mkfs PATH --upgrade" in r.stdout
        assert "not restarting" in r.stdout
