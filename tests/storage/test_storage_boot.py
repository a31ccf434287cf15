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
