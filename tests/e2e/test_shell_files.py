"""File commands, end to end: the shell calls fs, fs calls block."""

from pathlib import Path

from tests.e2e.conftest import lines


class TestFileCommands:
    def test_file_commands_in_one_boot(self, nk):
        """ls, cat, echo > and >>, mkdir, mv, stat, cd/pwd, rm, rmdir, df all work in one boot."""
        r = nk("mkdir /home/a /home/b; echo 'hello  world' > /home/a/f; echo more >> /home/a/f;"
               "cat /home/a/f; cd /home/a; pwd; ls; mv f g; ls -l; mv g ../b; cd ..; ls b;"
               "stat b/g; cd /; rm /home/b/g; rmdir /home/a /home/b; ls /home; df;"
               "ls -l /etc; cat /etc/motd > /home/copy; cat /home/copy")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        i = out.index("hello  world")
        assert ["hello  world", "more", "/home/a", "f"] == out[i:i + 4]
        assert any(line.startswith("-") and line.endswith("  g") and " 18 " in line
                   for line in out), out
        assert "g" in out
        assert "  File: /home/b/g" in out
        assert any(line.startswith("  Type: file  Size: 18") for line in out)
        assert any(line.startswith("Filesystem") for line in out)
        assert any(line.startswith("fs ") for line in out)
        assert any(line.endswith("  motd") for line in out)
        assert 1 == r.stdout.count("Welcome to nanokernel"), r.stdout

    def test_ls_of_a_file_and_several_paths(self, nk):
        """ls FILE shows the file; ls with several paths heads each listing."""
        r = nk("ls /etc/motd; ls / /etc")
        out = lines(r.stdout)
        assert "motd" in out and "/:" in out and "/etc:" in out, out

    def test_append_to_a_new_file_and_redirect_any_command(self, nk):
        """>> creates a missing file; any command's output can be redirected."""
        r = nk("echo one >> /n; echo two >> /n; ls / > /listing; cat /n /listing")
        out = lines(r.stdout)
        assert ["one", "two"] == out[out.index("one"):out.index("one") + 2]
        assert "n" in out and "etc" in out   # the listing, read back from /listing

    def test_truncating_redirect_shrinks_a_file(self, nk):
        """> replaces a longer file's contents entirely."""
        r = nk("echo a-long-first-line > /t; echo short > /t; cat /t; stat /t")
        out = lines(r.stdout)
        assert "short" in out and "a-long-first-line" not in out
        assert any(line.startswith("  Type: file  Size: 6 ") for line in out), out

    def test_quoting_comments_and_separators(self, nk):
        """Quotes keep ; and # as text; a # comment ends the line."""
        r = nk("echo 'a;b' \"c # d\"; echo x # echo hidden\necho y")
        out = lines(r.stdout)
        assert "a;b c # d" in out and "x" in out and "y" in out
        assert "hidden" not in r.stdout


class TestBigDirectories:
    def test_ls_of_a_directory_bigger_than_a_message(self, nk):
        """950 names of 56 bytes: the listing (~75 KiB) is over one message's 64 KiB, so
        ls reads it in pages — every name, in order, once."""
        programs = Path(__file__).resolve().parent / "programs"
        r = nk(f"run {programs}/many_files.py /home/big 950; ls /home/big > /home/listing; "
               "cat /home/listing")
        assert 0 == r.returncode, r.output
        names = [line for line in lines(r.stdout) if line.endswith("x" * 51)]
        assert [f"{i:04d}-{'x' * 51}" for i in range(950)] == names


class TestSymbolicLinks:
    def test_ln_readlink_ls_and_a_clear_error_for_cat(self, nk):
        """ln -s stores a link; readlink and ls -l show its target; fs does not follow
        it, so cat of it is one error that says so, and the shell goes on."""
        r = nk("ln -s /etc/motd /home/m; readlink /home/m; ls -l /home; cat /home/m; "
               "ln /etc/motd /home/x; rm /home/m; ls /home; echo done")
        out = lines(r.stdout)
        assert "/etc/motd" in out, r.output
        assert any(line.startswith("l ") and line.endswith("  m -> /etc/motd")
                   for line in out), out
        assert "cat: /home/m: a symbolic link, which fs does not follow" in r.output
        assert "ln: usage: ln -s TARGET LINK" in r.output
        assert "done" == out[-1]
        assert not any(line == "m" for line in out[out.index("done") - 1:]), out
