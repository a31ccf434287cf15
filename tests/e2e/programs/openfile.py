"""libipc.open on the nanokernel fs: write, append, read back (text and bytes)."""
import libipc

with libipc.open("/home/notes.txt", "w") as f:
    f.write("one\n")
with libipc.open("/home/notes.txt", "a") as f:
    f.write("two\n")
with libipc.open("/home/notes.txt") as f:
    print(f.read().replace("\n", "+"))
with libipc.open("/home/notes.txt", "rb") as f:
    print(len(f.read()))
try:
    libipc.open("/home/nope.txt")
except libipc.FileNotFound:
    print("FileNotFound")
