"""Signals through the kernel (kernel/signals.py, libipc/signals.py), in a real boot:
default actions, handlers, interrupted calls, coalescing, SIGCHLD, permissions."""

from __future__ import annotations

import signal

import pytest

pytestmark = pytest.mark.timeout(120)

TERMINATING = ("SIGTERM", "SIGINT", "SIGHUP", "SIGPIPE", "SIGUSR1", "SIGUSR2", "SIGALRM")


def test_default_actions_terminate_and_chld_is_ignored(signals):
    data = signals("defaults")
    for name in (*TERMINATING, "SIGKILL"):
        assert data[name] == {"result": "killed", "status": -getattr(signal, name)}, name
    assert data["SIGCHLD"] == {"result": "ignored", "alive": True}
    assert data["zero"] == "checked"


def test_handlers_run_while_the_program_sleeps_and_kill_stop_are_uncatchable(signals):
    data = signals("handlers")
    for name, (result, line) in data["caught"].items():
        assert result == "delivered"
        assert line == f"caught {getattr(signal, name)}", name
    assert data["alive"] is True            # TERM and INT were caught: no default action
    assert data["ignored"] == "ignored" and data["still"] == "alive"
    # KILL and STOP can be neither caught nor ignored
    assert data["uncatchable"] == " ".join(["InvalidArgument"] * 4)
    assert data["session_kill_code"] == "InvalidArgument"


def test_a_handler_interrupts_a_blocking_call(signals):
    data = signals("interrupt")
    for mode in ("interrupt", "restart", "raising"):
        assert data[mode + "_handler"] == f"handled {signal.SIGUSR1}"
    assert data["interrupt"] == "interrupted Interrupted after 1"
    assert data["restart"] == "read data after 1"       # restart=True: the read went on
    assert data["raising"] == "raised KeyboardInterrupt after 1"
    assert data["interrupt_status"] == data["restart_status"] == 0


def test_standard_signals_coalesce(signals):
    data = signals("coalesce")
    assert data["stop"] == "stopped" and data["cont"] == "continued"
    assert data["sent"] == ["delivered"] * 3
    assert data["line"] == "count 1"


def test_a_parent_gets_sigchld(signals):
    data = signals("sigchld")
    assert data["paused"] is True
    assert data["seen"] == [signal.SIGCHLD]
    assert data["status"] == -signal.SIGTERM


def test_signals_follow_the_call_graph(signals):
    data = signals("permission")
    assert data["session"] == "PermissionDenied"    # its parent calls "*", is not public
    assert data["peer"] == "PermissionDenied"       # nor a sibling it may not call
    assert data["kernel"] == "InvalidArgument"      # the kernel takes no signals
    assert data["bad"] == ["InvalidArgument", "NoSuchEndpoint", "InvalidArgument"]


def test_a_program_cannot_stop_continue_or_end_a_server_it_may_call(signals):
    """Only a signal the server catches or ignores gets through (the kill call is
    privileged; `signal` must not be a way around it)."""
    assert signals("servers")["results"] == [
        "PermissionDenied",    # CONT naming
        "PermissionDenied",    # USR1 pipe: not caught, its default would end it
        "PermissionDenied",    # TERM naming
        "PermissionDenied",    # STOP naming
        "PermissionDenied",    # KILL naming
        "checked",             # 0: only the checks
        "ignored"]             # CHLD pipe: ignored by default, harmless


def test_sigpipe_ignored_gives_broken_pipe(signals):
    assert signals("sigpipe")["ignored_write"] == "BrokenPipe"


def test_a_handler_s_own_call_just_after_a_call_was_put_loses_no_answer(signals):
    """USR1 lands right after the outer CALL was put; its handler's call must not take
    the outer call's answer for a stale one."""
    assert signals("nested")["line"].split(" inner ")[0] == "outer OK"


def test_a_signal_that_comes_while_a_call_waits_is_handled_when_the_call_returns(signals):
    """Its NOTIFY came behind the call's answer, and its host SIGURG found the call
    waiting: the handler runs when the call returns, not at some later call."""
    assert signals("nested")["line"] == "outer OK inner OK"


def test_a_handler_that_raises_does_not_lose_the_signals_taken_with_its_own(signals):
    """USR1 and USR2 are taken at once; USR1's handler raises: USR2's runs all the same."""
    assert signals("rest")["lines"] == ["usr1 raised", "usr2"]


def test_a_handler_s_own_call_while_the_port_s_send_lock_is_held_does_not_hang(signals):
    """USR1 lands while a NOTIFY is put (the port's send lock held, no call waiting)."""
    assert signals("locked")["line"] == "sent inner OK"


DEVICES = """
[servers.devices]
module = "servers.devices"
public = true
privileged = true
"""


def test_a_call_answered_while_its_handler_s_own_call_waited_returns_its_answer(signals):
    """SIGALRM's handler sleeps (a call) while the clock's sleep is waited for; that
    sleep is answered meanwhile: it returns, not Interrupted (its answer was not lost)."""
    assert signals("answered", extra=DEVICES)["line"] == "returned inside [True]"


def test_ctrl_c_while_the_shell_starts_a_job_interrupts_the_job(signals):
    """The shell's SIGINT right after a spawn (before the job was named): no program is
    left running, the command ends with 130 (run, and a pipeline's first stage)."""
    data = signals("shell_spawn")
    assert data == {"30": {"status": 130, "left": 0}, "cat": {"status": 130, "left": 0}}


def test_a_program_cannot_name_the_foreground_job_the_console_signals(signals):
    """Else the console, privileged for Ctrl-C, would SIGINT whatever a program named
    (naming, fs: their default action ends them) when the user pressed Ctrl-C."""
    assert signals("servers")["foreground"] == "PermissionDenied"


def test_kill_by_name_reaches_a_server_that_restarted(signals):
    assert signals("by_name") == {"before": "checked", "after": "checked"}
