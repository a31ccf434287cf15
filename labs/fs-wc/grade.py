"""The grader of labs/fs-wc: the fs server's wc op and the shell's count command.

Every test writes files of fresh random text (g.rng) with a user program, then
asks for their counts — from the op straight (the program calls fs.wc) or
through the shell (count) — and compares them with the counts made here, on
the host, of the same bytes: lines are b"\\n"s, words bytes.split()'s, bytes
the length.
"""

from __future__ import annotations

import base64
import json
import random
import re

from nanokernel.labs.gradelib import Grade, test

WORD_BYTES = [bytes([c]) for c in range(33, 127)] + ["é".encode(), "ж".encode()]
SPACES = [b" "] * 6 + [b"  ", b"\t", b"\n", b"\n", b" \n", b"\n\n", b"\r\n", b"\x0b", b"\x0c"]
BOOT_TIMEOUT = 45   # a boot that is still running after this long hangs (a test fails)

# A user program: write the files given, then ask fs's wc of each path given.  It
# prints one line per path: "wc PATH LINES WORDS BYTES", or "wc PATH error CODE".
WRITER = '''
import base64
import libipc

FILES = {files!r}
ASK = {ask!r}
for path, data in FILES.items():
    with libipc.open(path, "wb") as f:
        f.write(base64.b64decode(data))
fs = libipc.lookup("fs")
for path in ASK:
    try:
        r = fs.call("wc", path=path)
    except libipc.IpcError as exc:
        print("wc", path, "error", exc.code)
        continue
    try:
        print("wc", path, r["lines"], r["words"], r["bytes"])
    except (TypeError, KeyError):
        print("wc", path, "bad-reply", repr(r)[:80])
'''


def text(rng: random.Random, words: int, longest: int = 12) -> bytes:
    """``words`` random words (ASCII and two-byte UTF-8 letters) between random runs of
    whitespace, maybe some at either end."""
    parts = [rng.choice(SPACES) if rng.random() < 0.3 else b""]
    for _ in range(words):
        parts.append(b"".join(rng.choice(WORD_BYTES) for _ in range(rng.randint(1, longest))))
        parts.append(rng.choice(SPACES))
    if rng.random() < 0.5:
        parts.pop()   # a file that ends inside its last word (and line)
    return b"".join(parts)


def counts(data: bytes) -> tuple[int, int, int]:
    return data.count(b"\n"), len(data.split()), len(data)


def writer(g: Grade, files: dict[str, bytes], ask: list[str]) -> str:
    """The `run` command of a program that writes ``files`` and asks wc of ``ask``."""
    encoded = {path: base64.b64encode(data).decode() for path, data in files.items()}
    g.program("write_and_ask.py", WRITER.format(files=encoded, ask=ask))
    return "run write_and_ask.py"


def expect_wc(g: Grade, out: str, path: str, want: tuple[int, int, int], what: str) -> None:
    lines, words, size = want
    m = re.search(rf"^wc {re.escape(path)} (.*)$", out, re.M)
    g.check(m is not None, f"{what}: no answer for {path} (did the program run?)\n{out[-2000:]}")
    g.check(m.group(1) == f"{lines} {words} {size}",
            f"{what}: wc of {path}: expected lines {lines}, words {words}, bytes {size}; "
            f"got {m.group(1)!r}")


@test(15)
def wc_small_files(g: Grade) -> None:
    """wc's counts of a few small files, an empty one and one of whitespace only."""
    files = {f"/home/{g.secret()}.txt": text(g.rng, g.rng.randint(20, 80)),
             f"/home/{g.secret()}": text(g.rng, g.rng.randint(1, 5)),
             "/home/empty": b"",
             f"/{g.secret()}": b"".join(g.rng.choice(SPACES) for _ in range(9))}
    run = g.boot(writer(g, files, list(files)), timeout=BOOT_TIMEOUT)
    for path, data in files.items():
        expect_wc(g, run.out, path, counts(data), "small file")


@test(15, parent=wc_small_files)
def wc_big_file(g: Grade) -> None:
    """Files of several read-sized chunks: long words cross every chunk boundary."""
    big = text(g.rng, g.rng.randint(300, 400), longest=2000)   # ~300-400 KiB
    one_word = b"".join(g.rng.choice(WORD_BYTES) for _ in range(g.rng.randint(150_000, 200_000)))
    files = {f"/home/big-{g.secret()}": big, "/home/one-word": one_word}
    run = g.boot(writer(g, files, list(files)), timeout=BOOT_TIMEOUT)
    for path, data in files.items():
        expect_wc(g, run.out, path, counts(data), f"a {len(data) // 1024} KiB file")


@test(10, parent=wc_small_files)
def wc_bad_input(g: Grade) -> None:
    """A missing file, a directory, a FIFO: wc answers each with fs's error (no hang),
    and fs goes on serving."""
    name = g.secret()
    ok = text(g.rng, 10)
    files = {f"/home/{name}": ok}
    ask = [f"/home/{name}-missing", "/home", f"/home/{name}.fifo", f"/home/{name}"]
    run = g.boot(f"mkfifo /home/{name}.fifo; " + writer(g, files, ask), timeout=BOOT_TIMEOUT)
    for path, code in zip(ask, ("FileNotFound", "IsADirectory", "InvalidArgument"),
                          strict=False):
        g.expect(run.out, rf"^wc {re.escape(path)} error {code}$",
                 f"wc of {path}: expected the error {code}:")
    expect_wc(g, run.out, f"/home/{name}", counts(ok), "after the errors")


def sections(out: str) -> list[str]:
    """The output between the `echo =N=` markers of a boot's commands."""
    return re.split(r"(?m)^=\d=$", out)[1:]


@test(15, parent=wc_small_files)
def count_command(g: Grade) -> None:
    """`count FILE...`: LINES WORDS BYTES FILE per file, a total line for two or more."""
    a, b = text(g.rng, g.rng.randint(5, 40)), text(g.rng, g.rng.randint(5, 40))
    na, nb = g.secret(), g.secret()
    files = {f"/home/{na}": a, f"/home/{nb}": b}
    run = g.boot(writer(g, files, []) + f"; cd /home; echo =1=; count {na} /home/{nb}; "
                 f"echo =2=; count {nb}; echo =3=", timeout=BOOT_TIMEOUT)
    parts = sections(run.out)
    g.check(len(parts) == 3, f"expected the output of two count commands\n{run.out[-2000:]}")
    two, one = parts[0], parts[1]
    total = tuple(x + y for x, y in zip(counts(a), counts(b), strict=True))
    for want, name in ((counts(a), na), (counts(b), f"/home/{nb}"), (total, "total")):
        line = " ".join(map(str, want)) + " " + name
        g.expect(two, rf"^{re.escape(line)}$", f"count {na} /home/{nb}: expected the line")
    line = " ".join(map(str, counts(b))) + " " + nb
    g.expect(one, rf"^{re.escape(line)}$", f"count {nb}: expected the line")
    g.expect_not(one, r"total$", f"count {nb} (one file): expected no total line")


@test(10, parent=count_command)
def count_bad_input(g: Grade) -> None:
    """count of a missing file and of a directory: the shell's error line; no FILE:
    the usage; then the shell goes on."""
    missing = g.secret()
    run = g.boot(f"count /home/{missing}; count /home; count; echo still-here",
                 timeout=BOOT_TIMEOUT)
    g.expect(run.out, rf"^count: /home/{missing}: FileNotFound$",
             "count of a missing file: expected")
    g.expect(run.out, r"^count: /home: IsADirectory$", "count of a directory: expected")
    g.expect(run.out, r"^count: usage: count FILE\.\.\.: Usage$",
             "count with no FILE: expected the usage")
    g.expect(run.out, r"^still-here$", "the commands after count: expected them to run")


@test(5, parent=count_command)
def count_calls_the_op(g: Grade) -> None:
    """count asks fs's wc (the trace shows the shell's wc calls to fs), and reads no
    byte of the file itself."""
    name = g.secret()
    data = text(g.rng, 200, longest=1000)
    run = g.boot(writer(g, {f"/home/{name}": data}, []) + f"; count /home/{name}",
                 timeout=BOOT_TIMEOUT, trace=True)
    line = " ".join(map(str, counts(data))) + f" /home/{name}"
    g.expect(run.out, rf"^{re.escape(line)}$", f"count /home/{name}: expected the line")
    ops = [m.get("op") for m in map(json.loads, run.trace.read_text().splitlines())
           if m.get("src_name") == "shell" and m.get("dst_name") == "fs"
           and m.get("kind") == "CALL"]
    g.note(f"the shell's calls to fs: {ops}")
    g.check("wc" in ops, f"expected a wc call from the shell to fs; its calls: {ops}")
    g.check("read" not in ops, "expected no read call from the shell to fs (fs counts); "
                               f"{ops.count('read')} came")
