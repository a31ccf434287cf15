"""Every bad request gets its own error; fs and block keep serving."""

import common

from libipc import IpcError, lookup
from libipc.message import pack
from libipc.naming import NAMING
from libipc.runtime import current


def outcome(fn):
    try:
        fn()
    except IpcError as e:
        return e.code
    return "ok"


def main():
    fs, block = lookup("fs"), lookup("block")
    fs.write(path="/home/f", offset=0, data=b"data", create=True)
    fs.mkdir(path="/home/d")
    fs.write(path="/home/d/x", offset=0, data=b"x", create=True)
    cases = {
        "read_negative_offset": lambda: fs.read(path="/home/f", offset=-1),
        "read_negative_size": lambda: fs.read(path="/home/f", size=-5),
        "read_wrong_type": lambda: fs.read(path="/home/f", offset="zero"),
        "read_missing": lambda: fs.read(path="/home/nope"),
        "read_dir": lambda: fs.read(path="/home"),
        "relative_path": lambda: fs.stat(path="home/f"),
        "empty_path": lambda: fs.stat(path=""),
        "name_too_long": lambda: fs.create(path="/home/" + "n" * 253),   # (NK_DIRSIZ: 252)
        "file_as_dir": lambda: fs.stat(path="/home/f/x"),
        "readdir_file": lambda: fs.readdir(path="/home/f"),
        "create_exclusive": lambda: fs.create(path="/home/f", exclusive=True),
        "mkdir_existing": lambda: fs.mkdir(path="/home/d"),
        "unlink_dir": lambda: fs.unlink(path="/home/d"),
        "rmdir_nonempty": lambda: fs.rmdir(path="/home/d"),
        "rmdir_file": lambda: fs.rmdir(path="/home/f"),
        "rmdir_root": lambda: fs.rmdir(path="/"),
        "rename_into_itself": lambda: fs.rename(src="/home/d", dst="/home/d/y"),
        "write_str": lambda: fs.write(path="/home/f", offset=0, data="text"),
        "write_negative": lambda: fs.write(path="/home/f", offset=-3, data=b"x"),
        "write_huge_offset": lambda: fs.write(path="/home/f", offset=2**40, data=b"x"),
        "truncate_negative": lambda: fs.truncate(path="/home/f", size=-1),
        "missing_arg": lambda: fs.write(path="/home/f", data=b"x"),
        "extra_arg": lambda: fs.stat(path="/home/f", follow=True),
        "no_such_op": lambda: fs.format(),
        "block_negative": lambda: block.read(block=-1),
        "block_past_end": lambda: block.read(block=block.info()["blocks"]),
        "block_count_zero": lambda: block.read(block=0, count=0),
        "block_too_many": lambda: block.read(block=0, count=16),
        "block_straddles_end": lambda: block.read(block=block.info()["blocks"] - 1, count=2),
        "block_partial_write": lambda: block.write(block=5, data=b"x" * 100),
        "block_empty_write": lambda: block.write(block=5, data=b""),
        "block_write_past_end": lambda: block.write(block=block.info()["blocks"],
                                                    data=bytes(4096)),
        "block_write_too_big": lambda: block.write(block=0, data=bytes(4096 * 16)),
        "block_wrong_type": lambda: block.read(block="0"),
    }
    result = {name: outcome(fn) for name, fn in cases.items()}
    ep = current().call(NAMING, "lookup", {"name": "fs"})
    result["junk_body"] = outcome(lambda: current().call_body(ep, b"\xc1\xc1junk"))
    result["bad_shape"] = outcome(lambda: current().call_body(ep, pack({"op": "stat"})))
    big = fs.write(path="/home/big", offset=0, data=bytes(64000), create=True)
    result["big_read_len"] = len(fs.read(path="/home/big", offset=0, size=10**9))
    result["big_written"] = big
    result["still_serving"] = fs.read(path="/home/f").decode()
    result["info"] = block.info()
    result["data_intact"] = fs.read(path="/home/d/x").decode()
    return result


common.run(main)
