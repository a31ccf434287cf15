"""libipc's public surface: ``__all__`` is what ``_WHERE`` imports lazily, and each
name resolves (a name in one list but not the other is a typo waiting for a user)."""

from __future__ import annotations

import subprocess
import sys

import libipc

# In a fresh interpreter: once a test has imported ``libipc.pipe`` (the module), the
# package attribute ``pipe`` is that module, not the function, until first used.
CHECK = """
import importlib, libipc
for name in libipc.__all__:
    public = getattr(libipc, name)
    module = importlib.import_module(libipc._WHERE[name])
    expected = module if module.__name__ == "libipc." + name else getattr(module, name)
    assert expected is public, name
"""


class TestPublicNames:
    def test_every_public_name_is_importable_from_its_module(self):
        assert sorted(libipc.__all__) == sorted(libipc._WHERE)
        r = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                           timeout=60)
        assert 0 == r.returncode, r.stderr

    def test_libipc_pipe_is_callable_whatever_was_imported_first(self):
        """``libipc.pipe()`` (the docs' call) — also after ``libipc.pipe`` the module was
        imported, which binds the package attribute to the module (it was "'module'
        object is not callable" then)."""
        check = ("import libipc.pipe as m\n"
                 "m.pipe = lambda: ('r', 'w')\n"   # (no system to make a real pipe in)
                 "import libipc\n"
                 "from libipc import pipe\n"
                 "assert libipc.pipe() == ('r', 'w') == pipe()\n"
                 "assert libipc.pipe.MAP_REGIONS in (True, False)\n")
        r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                           timeout=60)
        assert 0 == r.returncode, r.stderr

    def test_the_socket_names_are_public(self):
        """listen/connect and the errors a caller of them catches."""
        from libipc import sockets
        assert {"listen", "connect", "ConnectionRefused", "ConnectionReset",
                "AddressInUse"} <= set(libipc.__all__)
        assert (sockets.listen, sockets.connect) == (libipc.listen, libipc.connect)
        assert "ConnectionRefused" == libipc.ConnectionRefused.code

    def test_the_semaphore_and_queue_classes_are_public(self):
        """libipc.Semaphore and libipc.MessageQueue (Busy, mq_notify's EBUSY, is in
        libipc.errors like the other server-specific errors)."""
        from libipc import errors, mq, sem
        assert {"Semaphore", "MessageQueue"} <= set(libipc.__all__)
        assert (sem.Semaphore, mq.MessageQueue) == (libipc.Semaphore, libipc.MessageQueue)
        assert "Busy" == errors.Busy.code

    def test_shared_memory_and_mapped_files_are_public(self):
        """libipc.shm (the module: create, map) and libipc.mmap."""
        from libipc import mapfile, shm
        assert {"shm", "mmap"} <= set(libipc.__all__)
        assert libipc.shm is shm and libipc.shm.create is shm.create
        assert libipc.mmap is mapfile.mmap

    def test_data_lost_is_public(self):
        """DataLost — acknowledged writes that died with an fs instance and could not be
        re-sent — is public, with a stable code, and carries the paths."""
        from libipc import errors
        assert "DataLost" in libipc.__all__
        assert libipc.DataLost is errors.DataLost
        assert "DataLost" == errors.DataLost.code
        assert ["/a"] == errors.DataLost("lost: /a", paths=["/a"]).paths
        assert isinstance(errors.error_from_body({"code": "DataLost", "message": "x"}),
                          errors.DataLost)


def test_an_op_named_like_a_server_method_is_refused_when_the_class_is_made():
    """It replaced Server.attach (or main, dispatch…) and the server died before it
    registered, with an AttributeError about something else (found writing from the docs)."""
    import pytest

    from libipc import Server, op
    with pytest.raises(TypeError, match="may not be named like Server.attach"):
        class Clash(Server):
            @op
            def attach(self, ctx) -> None: ...
    with pytest.raises(TypeError, match="Server.main"):
        class Clash2(Server):
            @op
            def main(self, ctx) -> None: ...

    class Fine(Server):   # the hooks are overridden on purpose, and are not ops
        def start(self) -> None: ...

        @op
        def ping(self, ctx) -> str:
            return "pong"
    assert "ping" in Fine.ops
