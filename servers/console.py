"""console — the terminal driver: the one process that owns the host terminal.

Why the system needs it: every other process's stdout is the boot log, so
the only way to the user's screen is a message to this server.  That makes
the console the place where output from many processes is put in order.

Ops:
    write(text)            → None   text shown on the terminal
    read_line(prompt="")   → str    one line without its newline, or None at the
                                    end of input (deferred until a line arrives)
    read_key(timeout)      → str    one key pressed within ``timeout`` seconds ("" if
                                    none), read without waiting for Enter; None when
                                    there is no terminal to read keys from (``top``).
                                    The terminal stays in key mode until the next
                                    read_line, or read_key(timeout=-1) (→ "")
    foreground(eps)        → None   the foreground job: Ctrl-C sends SIGINT to each
                                    of these endpoints (the shell sets it for each
                                    command; its next read_line clears it); from a
                                    privileged caller only (PermissionDenied)

Rules:
* Lines never interleave.  Each sender's output is cut into whole lines and a
  line is written in one piece; a partial line waits in its sender's buffer
  until its newline comes, the sender prompts (``read_line``), or it has
  waited ``PARTIAL_FLUSH_S``.  If another sender's line comes while the cursor
  stands mid-line, it starts on a new line.
* Input.  With NK_INTERACTIVE=1 (stdin is a TTY) lines are read with readline:
  line editing and history; Ctrl-C cancels the line (prints "^C", read_line
  returns "") and sends SIGINT to the foreground job, if one is set — the
  tty driver's part in job control (MINIX's TTY does the same through the
  kernel; the console is privileged for that).  Otherwise stdin is read line
  by line as a script.  At end of
  input the reader gets None, and so does every later read_line.
* With NK_COMMANDS set (``nanokernel boot -c``) the console does not read stdin
  at all: the shell runs those commands itself, and read_line returns None at
  once.
* Requests queue: one read_line is served at a time, the others wait in order.
  A sender has one read waiting at most: its new read_line takes the place of
  an earlier one, which a signal must have interrupted (the earlier answers "").

Threads: the server loop runs in a helper thread that owns the runtime; the
main thread reads the terminal (Python delivers Ctrl-C to the main thread
only, which is what readline needs) and hands each line over with
``runtime.post``.  The terminal is this process's stdout, so the log is
pointed at stderr, which the kernel sends to the boot log.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from pathlib import Path

from libipc import (
    Deferred,
    InvalidArgument,
    IpcError,
    PermissionDenied,
    Server,
    jsonlog,
    kernel,
    op,
)
from libipc.process import start_process
from libipc.runtime import Timer, current
from libipc.server import is_remote

PARTIAL_FLUSH_S = 0.2
MAX_JOB = 64              # endpoints in a foreground job
MAX_KNOWN = 256           # callers of foreground whose privilege is remembered
KERNEL_TIMEOUT_S = 5.0    # the kernel answers at once; a bound all the same
EOF = object()   # what the reader thread posts at end of input
MAX_KEY_WAIT_S = 60.0


class KeyRead:
    """A request to the reader thread: one key, within ``timeout`` seconds."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout


class Console(Server):
    name = "console"

    def __init__(self, out=None, interactive: bool | None = None,
                 reads_stdin: bool | None = None) -> None:
        super().__init__()
        self.out = out or sys.stdout
        self.interactive = (os.environ.get("NK_INTERACTIVE") == "1" if interactive is None
                            else interactive)
        self.reads_stdin = (not os.environ.get("NK_COMMANDS") if reads_stdin is None
                            else reads_stdin)
        # Who reads the terminal: main() does it on the process's main thread; hosted
        # in the kernel (monolithic mode) the console starts a reader thread itself.
        self.own_reader = True
        self.partial: dict[int, str] = {}          # sender -> text after its last newline
        self.partial_timers: dict[int, Timer] = {}
        self.midline: int | None = None            # whose text the cursor stands after
        self.readers: deque[tuple[Deferred, str, int]] = deque()
        self.reading = False                       # a request is with the reader thread
        self.eof = not self.reads_stdin
        self.requests: queue.SimpleQueue[str | KeyRead] = queue.SimpleQueue()   # prompts
        self.key_reader: Deferred | None = None    # the read_key the reader thread serves
        self.job: list[int] = []                   # the foreground job's endpoints
        self.job_setter: int | None = None         # who set it (its next read clears it)
        self.last_reader: int | None = None        # whose line came last: the shell, as a rule
        self.privileged: dict[int, bool] = {}      # endpoint -> may name the foreground job

    def start(self) -> None:
        if self.own_reader and self.reads_stdin:
            threading.Thread(target=read_terminal, args=(self, self.interactive),
                             name="console-reader", daemon=True).start()

    # -- output --------------------------------------------------------------------------
    @op
    def write(self, ctx, text: str) -> None:
        """Show ``text``; whole lines at once, a partial line when it is complete."""
        sender = ctx.sender.endpoint
        text = self.partial.pop(sender, "") + text
        lines, newline, rest = text.rpartition("\n")
        if newline:
            self._emit(sender, lines + "\n")
        self._cancel_partial_timer(sender)
        if rest:
            self.partial[sender] = rest
            self.partial_timers[sender] = self.runtime.after(
                PARTIAL_FLUSH_S, lambda: self._flush_partial(sender))

    def _emit(self, sender: int, text: str) -> None:
        """Write ``text`` for ``sender`` in one piece, on a fresh line if needed."""
        if not text:
            return
        prompt = self._pending_prompt()
        if self.midline is not None and self.midline != sender:
            text = ("\r\x1b[K" if prompt is not None else "\n") + text
        if prompt is not None and text.endswith("\n"):
            text += prompt + _line_buffer()   # redraw the prompt the user is typing at
            self.midline = self.readers[0][2]
        else:
            self.midline = None if text.endswith("\n") else sender
        self.out.write(text)
        self.out.flush()

    def _flush_partial(self, sender: int) -> None:
        self._cancel_partial_timer(sender)
        text = self.partial.pop(sender, "")
        self._emit(sender, text)

    def _cancel_partial_timer(self, sender: int) -> None:
        timer = self.partial_timers.pop(sender, None)
        if timer is not None:
            timer.cancel()

    # -- input ---------------------------------------------------------------------------
    @op
    def read_line(self, ctx, prompt: str = "") -> str | None:
        """The next input line (no newline); None at end of input."""
        self._flush_partial(ctx.sender.endpoint)
        if ctx.sender.endpoint == self.job_setter:
            self.job, self.job_setter = [], None   # back at the prompt: no foreground job
        if self.eof:
            return None
        sender = ctx.sender.endpoint
        for i, (earlier, _, who) in enumerate(self.readers):
            if who == sender:
                # Its earlier read_line was given up (a signal interrupted it; the kernel
                # forgets a cancelled call and never tells us): a line given to that one
                # would be lost.  This one takes its place — and the line being typed,
                # if it was the one the terminal was reading for.
                self.readers[i] = (ctx.defer(), prompt, sender)
                earlier.reply("")   # (dropped by the kernel if that call is gone)
                return None
        self.readers.append((ctx.defer(), prompt, sender))
        self._next_read()
        return None

    @op
    def read_key(self, ctx, timeout: float = 1.0) -> str | None:
        """One key within ``timeout`` seconds, "" if none came; None: no terminal."""
        if not self.interactive or self.eof or not self.reads_stdin:
            return None
        timeout = -1.0 if timeout < 0 else min(float(timeout), MAX_KEY_WAIT_S)
        reply = ctx.defer()
        if self.reading or self.readers or self.key_reader is not None:
            # the terminal is being read for a line: no key now
            self.runtime.after(timeout, lambda: reply.reply(""))
            return None
        self.reading, self.key_reader = True, reply
        self.out.flush()
        self.requests.put(KeyRead(timeout))
        return None

    def key_arrived(self, key: str) -> None:
        """On the server thread: the reader thread's answer to a read_key."""
        self.reading = False
        reply, self.key_reader = self.key_reader, None
        if reply is not None:
            reply.reply(key)
        self._next_read()

    def _next_read(self) -> None:
        """Hand the oldest waiting request to the reader thread."""
        if self.reading or not self.readers:
            return
        _, prompt, sender = self.readers[0]
        self.reading = True
        if self.interactive:
            self.out.flush()
            self.midline = sender if prompt else None
            self.requests.put(prompt)              # readline shows the prompt itself
            return
        if prompt:
            if self.midline is not None and self.midline != sender:
                prompt = "\n" + prompt
            self.out.write(prompt)
            self.out.flush()
            self.midline = sender
        self.requests.put("")

    @op
    def foreground(self, ctx, eps: list[int]) -> None:
        """Ctrl-C sends SIGINT to these endpoints from now on (until the caller's next
        read_line).  Only a privileged caller (the shell): the console signals them with
        its own privilege, which a program must not borrow."""
        if len(eps) > MAX_JOB or not all(isinstance(e, int) for e in eps):
            raise InvalidArgument(f"foreground: at most {MAX_JOB} endpoints (integers)")
        if is_remote(ctx) or not self._privileged(ctx.sender.endpoint):
            raise PermissionDenied(f"foreground: {ctx.sender.name} is not privileged")
        self.job, self.job_setter = list(eps), ctx.sender.endpoint

    def _privileged(self, ep: int) -> bool:
        """What the kernel says (kept: an endpoint is never another process's)."""
        known = self.privileged.get(ep)
        if known is None:
            try:
                known = bool(kernel(KERNEL_TIMEOUT_S).whoami(ep=ep)["privileged"])
            except IpcError:
                return False
            if len(self.privileged) >= MAX_KNOWN:
                self.privileged.clear()
            self.privileged[ep] = known
        return known

    def interrupt(self, echo: bool) -> None:
        """On the server thread: the user pressed Ctrl-C.  SIGINT to the foreground job;
        ``echo``: no line was being read, so the next output starts on a new line."""
        # A line was just entered and its command has not named its job yet: the
        # interrupt is for whoever read that line (the shell abandons the command).
        # Once it reads again, that command is over: a Ctrl-C then is not for it.
        job = self.job or ([self.last_reader] if echo and self.last_reader
                           and not self._reads(self.last_reader) else [])
        if not job:
            return
        if echo:   # (the terminal showed "^C" itself: it was not in readline's hands)
            self._emit(-1, "\n")
        for ep in job:   # (one that has ended already is skipped)
            with contextlib.suppress(IpcError):
                kernel(KERNEL_TIMEOUT_S).signal(ep=ep, signum=signal.SIGINT)

    def line_arrived(self, line: object) -> None:
        """On the server thread: the reader thread got ``line`` (or EOF)."""
        self.reading = False
        if not self.readers:
            return
        reply, _, self.last_reader = self.readers.popleft()
        if self.interactive:
            self.midline = None                    # the user's Enter ended the line
        if line is EOF:
            self.eof = True
            reply.reply(None)
            while self.readers:
                self.readers.popleft()[0].reply(None)
            return
        reply.reply(line)
        self._next_read()

    def _reads(self, sender: int) -> bool:
        """A read_line of ``sender`` waits for a line."""
        return any(who == sender for _, _, who in self.readers)

    def _pending_prompt(self) -> str | None:
        """The prompt the user is typing at now (interactive only), if any."""
        if self.interactive and self.reading and self.readers:
            return self.readers[0][1]
        return None

    def stop_soon(self) -> None:
        """Leave the serving loop (from the main thread: Server.request_stop is for the
        thread that serves)."""
        self._stopping = True
        self.runtime.post(lambda: None)

    def stop(self) -> None:
        _line_mode()
        for sender in list(self.partial):
            self._flush_partial(sender)
        if self.midline is not None:
            self.out.write("\n")
        self.out.flush()


def _line_buffer() -> str:
    try:
        import readline
        return readline.get_line_buffer()
    except Exception:
        return ""


# -- the reader (main thread) ------------------------------------------------------------
def read_terminal(console: Console, interactive: bool, ctrl_c: CtrlC | None = None) -> None:
    """Forever: wait for a read request, read one line, post it to the server thread.
    Ctrl-C raises KeyboardInterrupt only inside readline (``ctrl_c.in_readline``):
    anywhere else in this loop it would lose a line or end the console."""
    if interactive:
        _setup_readline()
    while True:
        prompt = console.requests.get()
        if isinstance(prompt, KeyRead):
            key = _read_key(prompt.timeout) if prompt.timeout >= 0 else _line_mode() or ""
            console.runtime.post(lambda key=key: console.key_arrived(key))
            continue
        _line_mode()
        cancelled = False
        try:
            if ctrl_c is not None:
                ctrl_c.in_readline = True
            line = _read_one(prompt, interactive)
        except KeyboardInterrupt:
            line, cancelled = "", True
        finally:
            if ctrl_c is not None:
                ctrl_c.in_readline = False
        if cancelled:
            sys.stdout.write("^C\n")
            sys.stdout.flush()
            console.runtime.post(lambda: console.interrupt(echo=False))
        console.runtime.post(lambda line=line: console.line_arrived(line))
        if line is EOF:
            return


_saved_mode: list | None = None   # the terminal's line mode while keys are read


def _read_key(timeout: float) -> str:
    """One key from the terminal within ``timeout`` seconds ("" if none).  The terminal
    goes to cbreak mode (no Enter needed, no echo; Ctrl-C still signals) and stays in it
    between reads — a key typed between two would wait for an Enter — until
    ``_line_mode`` (the next read_line, ``keys_done``, the console's end)."""
    import select
    import termios
    import tty
    global _saved_mode
    fd = sys.stdin.fileno()
    try:
        if _saved_mode is None:
            _saved_mode = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 1).decode("utf-8", "replace") if ready else ""
    except (termios.error, OSError, KeyboardInterrupt):
        return ""


def _line_mode() -> None:
    """The terminal back in the mode it had before keys were read."""
    import termios
    global _saved_mode
    saved, _saved_mode = _saved_mode, None
    if saved is not None:
        with contextlib.suppress(termios.error, OSError, ValueError):
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


def _read_one(prompt: str, interactive: bool) -> object:
    try:
        if interactive:
            return input(prompt)
        line = sys.stdin.readline()
    except EOFError:
        return EOF
    if not line:
        return EOF
    return line[:-1] if line.endswith("\n") else line


def _setup_readline() -> None:
    try:
        import readline
    except ImportError:
        return
    history = _history_path()
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(1000)


def _history_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "nanokernel" / "console_history"


def _save_history(path: Path) -> None:
    try:
        import readline
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(path)
    except Exception:
        pass


class CtrlC:
    """Ctrl-C as KeyboardInterrupt in the main thread's readline — never lost.

    Python runs a signal's handler between bytecodes, and readline only looks
    for one when its select() is interrupted.  A SIGINT landing while readline
    is busy with the previous key is therefore only seen at the next key press.
    The C-level handler still writes the signal number to a wakeup fd at once;
    a watcher thread reads it and, while the interrupt has not been handled,
    pokes the main thread with SIGUSR2 (a no-op handler): that interrupts its
    select(), and Python then runs the SIGINT handler waiting there.  Only real
    SIGINTs raise, so a poke can never cancel a second line."""

    POKE = signal.SIGUSR2
    RETRY_S = 0.05

    def __init__(self, console: Console) -> None:
        self.console = console
        self.handled = 0   # SIGINTs the main thread has turned into KeyboardInterrupt
        self.in_readline = False   # else a SIGINT is the foreground job's, not the line's
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._wfd, False)

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._on_sigint)
        signal.signal(self.POKE, lambda *_: None)
        signal.set_wakeup_fd(self._wfd, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="console-ctrl-c", daemon=True).start()

    def _on_sigint(self, signum, frame) -> None:
        self.handled += 1
        if self.in_readline:
            raise KeyboardInterrupt
        console = self.console   # (post is safe here: SimpleQueue.put is reentrant)
        console.runtime.post(lambda: console.interrupt(echo=True))

    def _watch(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, self.POKE})
        main, arrived = threading.main_thread().ident, 0
        while data := os.read(self._rfd, 64):
            arrived += data.count(signal.SIGINT)
            for _ in range(20):   # give up after a second: the main thread is elsewhere
                if self.handled >= arrived:
                    break
                time.sleep(self.RETRY_S)
                if self.handled < arrived:
                    signal.pthread_kill(main, self.POKE)
            arrived = max(arrived, self.handled)


def main() -> None:
    """Serve on a helper thread; read the terminal on the main thread."""
    interactive = os.environ.get("NK_INTERACTIVE") == "1"
    reads_stdin = not os.environ.get("NK_COMMANDS")
    started = threading.Event()
    holder: dict[str, Console] = {}

    def serve() -> None:
        # Ctrl-C's SIGINT must reach the main thread, whose readline it interrupts: a
        # process-directed signal goes to any thread that does not block it, and landing
        # here it would wait unseen until the next key press.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            runtime = current()   # created here: this thread owns the runtime
            jsonlog.configure(sys.stderr)
            jsonlog.bind_contextvars(proc=runtime.name, pid=os.getpid())
            console = holder["console"] = Console(sys.stdout, interactive, reads_stdin)
            console.own_reader = False   # the main thread reads the terminal (Ctrl-C)
            console.attach(runtime)
            started.set()
            console.serve_forever()
            console.stop()
        except BaseException:
            jsonlog.get_logger().exception("console_failed")
            os._exit(1)
        if interactive:
            _save_history(_history_path())
        os._exit(0)

    start_process()   # signal set-up must happen on the main thread
    threading.Thread(target=serve, name="console-server", daemon=True).start()
    started.wait()
    console = holder["console"]
    console.runtime.transport.ring_on_signal(signal.SIGTERM)   # serve_forever stops on it
    # Ctrl-C cancels the line being read.  The kernel ignores SIGINT and we
    # inherited that, so Python's KeyboardInterrupt handler must be put back.
    ctrl_c = CtrlC(console) if interactive else None
    if ctrl_c is not None:
        ctrl_c.install()
    else:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if reads_stdin:
        read_terminal(console, interactive, ctrl_c)
    threading.Event().wait()   # EOF or -c: only the server thread has work left


if __name__ == "__main__":
    main()
