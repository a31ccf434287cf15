"""A minimal naming server for the storage tests, used only while servers/naming.py
does not exist yet: register (checked against the kernel-stamped name), lookup, list."""

from libipc import NoSuchEndpoint, PermissionDenied, Server, op


class Naming(Server):
    name = "naming"
    register_name = False

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, int] = {}

    @op
    def register(self, ctx, name: str) -> None:
        if ctx.sender.name != name:
            raise PermissionDenied(f"register {name}: you are {ctx.sender.name}")
        self.names[name] = ctx.sender.endpoint

    @op
    def unregister(self, ctx, name: str) -> None:
        self.names.pop(name, None)

    @op
    def lookup(self, ctx, name: str) -> int:
        if name not in self.names:
            raise NoSuchEndpoint(f"lookup: no server named {name!r}")
        return self.names[name]

    @op
    def list(self, ctx) -> dict:
        return dict(self.names)


if __name__ == "__main__":
    Naming.main()
