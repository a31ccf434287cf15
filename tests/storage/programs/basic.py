"""Write with File and the raw ops, read back, report what was seen."""

import common

from libipc import File, lookup


def main():
    fs = lookup("fs")
    with File("/home/hello.txt", "w") as f:
        f.write("hello, disk\n")
    fs.write(path="/home/raw.bin", offset=0, data=bytes(range(256)) * 64, create=True)
    fs.sync()
    with File("/home/hello.txt") as f:
        text = f.read()
    return {"text": text, "listing": fs.readdir(path="/home"),
            "motd": fs.read(path="/etc/motd", size=9).decode()}


common.run(main)
