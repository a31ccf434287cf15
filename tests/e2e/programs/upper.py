"""input() → upper case, line by line, until end of input."""
while True:
    try:
        line = input()
    except EOFError:
        break
    print(line.upper())
