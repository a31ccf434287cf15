"""The session: run NK_COMMANDS, or read console lines until end of input.

The shell exits with the status of its last command; init (whose session
program it is) then halts the system with that status.
"""

from __future__ import annotations

import os
import sys
import time

from libipc import IpcError, jsonlog
from libipc.runtime import current
from servers.shell.files import FileCommands
from servers.shell.pipeline import PipelineCommands
from servers.shell.system import SystemCommands

log = jsonlog.get_logger()


class Shell(FileCommands, SystemCommands, PipelineCommands):
    """Every command of the shell (``do_NAME``), over the interpreter in core.py."""

    def interact(self) -> int:
        """Prompt, read, run, until the console says end of input (None)."""
        while not self.halted:
            # (Ctrl-C raises KeyboardInterrupt only inside a command's own work, which
            # catches it: see Interpreter.on_interrupt)
            self.at_prompt, self.interrupted = True, False   # the last line's are over
            try:
                line = self.call_server("console", "read_line", timeout=None,
                                        prompt=self.prompt)
            except IpcError as exc:
                log.error("console_read_failed", code=exc.code, message=exc.message)
                return self.status
            finally:
                self.at_prompt = False
            if line is None:
                break
            self.run_text(line)
        return self.status


def main() -> None:
    current()   # connect first (as the session, this waits for init's "booted")
    boot_t0 = float(os.environ.get("NK_BOOT_T0", "0") or 0)
    if boot_t0:
        log.info("shell_ready", since_boot_s=round(time.time() - boot_t0, 3))
    shell = Shell()
    if shell.job_control:   # Ctrl-C in a built-in (sleep 30) raises KeyboardInterrupt
        shell.take_interrupts()
    commands = os.environ.get("NK_COMMANDS")
    status = shell.run_text(commands) if commands is not None else shell.interact()
    shell.end_session()
    sys.exit(status & 0xFF if status >= 0 else 1)


if __name__ == "__main__":
    main()
