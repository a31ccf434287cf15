"""Shared memory by grant (kernel/grants.py, libipc/shm.py) in a real boot: mapping,
read-only grants, the kernel's checks, and how long a region lives."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(120)

PERMISSION_DENIED = 10   # shm_child.py's exit status for PermissionDenied from map


def test_a_grant_shares_the_bytes_and_read_only_means_read_only(shm):
    data = shm("basic")
    assert data["status"] == 0
    assert data["bytes"] == "HELLO WORLD"    # written by the child, in place
    assert data["rest_zero"] is True
    assert data["readonly_status"] == 3      # its buf is a read-only view
    assert data["stats_open"] == [1, 1 << 20]
    assert data["stats_closed"] == [0, 0]    # the last holder closed it: freed


def test_the_kernel_checks_every_grant(shm):
    data = shm("checks")
    assert data["thief"] == PERMISSION_DENIED     # another endpoint's grant
    assert data["forged"] == PERMISSION_DENIED
    assert data["revoked"] == PERMISSION_DENIED
    assert data["rightful"] == 0
    assert data["stale"] == PERMISSION_DENIED     # the region died with its last holder
    assert data["bad"] == ["InvalidArgument", "InvalidArgument", "InvalidArgument",
                           "NoSuchEndpoint", "PermissionDenied", "PermissionDenied",
                           "PermissionDenied"]
    assert data["stats"] == [0, 0]


def test_a_region_lives_while_someone_holds_it(shm):
    data = shm("lifetimes")
    assert data["after_creator_closed"] == 1      # the holder still has it
    assert data["after_holder_killed"] == 0       # SIGKILL let go of it
    assert data["watch"] == 0                     # a revoke leaves a mapping live
    assert data["end"] == [0, 0]


def test_one_process_cannot_use_up_every_grant(shm):
    """A process's own grants are limited (before, one loop of shm_grant could take
    all MAX_GRANTS and every other process's grant, fs's mmap included, failed), and
    so are the bytes an unprivileged one's regions hold (before, one could take all
    8 GiB of MAX_TOTAL: 8 regions of 1 GiB, and every other shm_create failed)."""
    data = shm("limits")
    assert data == {"one_more": "TooManyCalls", "after_revoke": "no error",
                    "grants": True, "end": 0, "hog_got": 2}


def test_descriptors_never_taken_neither_pile_up_nor_stop_later_maps(shm):
    """The kernel queues few descriptors per process (before, ~280 each, all counted
    against the user's in-flight limit), and a full link is emptied by libipc's next
    call (before, every later create and map was WouldBlock for good)."""
    assert shm("unreceived") == {"few": True, "code": "WouldBlock", "then": "no error"}


def test_a_region_cannot_be_resized_by_a_holder(shm):
    """The kernel seals each region's size (F_SEAL_SHRINK/GROW): before, a holder of a
    writable grant could ftruncate it and every other mapper touching it got SIGBUS."""
    assert shm("sealed") == {"shrink": "EPERM", "grow": "EPERM", "size": 8192}


def test_two_regions_of_one_region_in_a_process_hold_it_until_the_last_closes(shm):
    assert shm("twice") == {"held": 1, "same": "hi", "grant": "no error", "after": 0}
