"""The tracked command of ``wattwise run``: started so it dies with the tracker, sent every signal the
tracker gets, and waited for without a window where a signal is lost.

* :class:`SignalGate` blocks :data:`FORWARDED` (and SIGCHLD) in the tracker *before* the run starts, so the
  sampler and writer threads inherit the block and every such signal stays pending until :func:`supervise`
  takes it with ``sigtimedwait``: none is lost between starting the child and being ready to pass it on.
* :func:`spawn` starts the child with the tracker's original signal mask and, on Linux, ``PR_SET_PDEATHSIG``
  (SIGKILL): a tracker killed by SIGKILL takes its job with it instead of leaving it running unmetered.
* :func:`supervise` passes each signal on to the child, except those the terminal sent to the whole
  foreground process group (Ctrl-C, Ctrl-\\), which the child, being in that group, got already.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

FORWARDED: tuple[signal.Signals, ...] = tuple(
    getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2") if hasattr(signal, n))
#: Signals after which the run counts as interrupted (the others are messages to the job).
STOPPING = frozenset(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, n))
POSIX = hasattr(signal, "pthread_sigmask") and hasattr(signal, "sigtimedwait")
SI_KERNEL = 0x80  # si_code of a signal the kernel sent (the terminal's Ctrl-C, Ctrl-\, hangup)
PR_SET_PDEATHSIG = 1
_WAIT = (*FORWARDED, signal.SIGCHLD) if POSIX else ()


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


class SignalGate:
    """Block the forwarded signals in this thread (and in threads started while it is on)."""

    def __init__(self) -> None:
        self.saved_mask: set[int | signal.Signals] = set()
        self.handlers: dict[int, Any] = {}

    def __enter__(self) -> SignalGate:
        if not POSIX:
            return self
        self.handlers = {int(s): signal.getsignal(s) for s in FORWARDED}
        self.saved_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WAIT)
        return self

    def pending_stop(self) -> signal.Signals | None:
        """A stopping signal that came before the child started (then it is not started at all)."""
        if not POSIX:
            return None
        hit = [s for s in signal.sigpending() if s in STOPPING]
        if not hit:
            return None
        signal.sigtimedwait([hit[0]], 0)
        return signal.Signals(hit[0])

    def __exit__(self, *exc: Any) -> None:
        if not POSIX:
            return
        # signals still pending would hit the tracker itself once unblocked: take them first
        while signal.sigtimedwait(_WAIT, 0) is not None:
            pass
        for s, h in self.handlers.items():  # a scheduled run's pause controller installs its own
            if h is not None:
                signal.signal(s, h)
        signal.pthread_sigmask(signal.SIG_SETMASK, self.saved_mask)


def spawn(command: list[str], env: dict[str, str], gate: SignalGate) -> subprocess.Popen:
    """Start ``command`` with the tracker's own signal mask; it gets SIGKILL if the tracker dies (Linux)."""
    prctl = _prctl()
    parent = os.getpid()
    mask = gate.saved_mask

    def child_setup() -> None:  # runs in the child between fork and exec
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:  # the tracker died before prctl took effect
                os._exit(128 + signal.SIGKILL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    return subprocess.Popen(command, env=env, preexec_fn=child_setup)


def supervise(child: subprocess.Popen, on_signal: Callable[[int], None] | None = None,
              on_tick: Callable[[], None] | None = None) -> tuple[int, list[int]]:
    """Wait for ``child``, passing signals on (``on_tick`` is called at least every half second); returns its
    exit status and the stopping signals received."""
    stops: list[int] = []
    if not POSIX:  # no signal gate: Ctrl-C reaches the job from the console
        return child.wait(), stops
    while True:
        info = signal.sigtimedwait(_WAIT, 0.5)
        if on_tick is not None:
            on_tick()
        if info is None or info.si_signo == signal.SIGCHLD:
            code = child.poll()
            if code is not None:
                return code, stops
            continue
        sig = info.si_signo
        if sig in STOPPING:
            stops.append(sig)
        if on_signal is not None:
            on_signal(sig)
        if info.si_code == SI_KERNEL and sig in STOPPING:
            continue  # the terminal sent it to the whole process group, the child included
        try:
            child.send_signal(sig)
        except ProcessLookupError:
            pass


def exit_status(returncode: int) -> int:
    """The shell's exit status of a child: its code, or 128 + the signal that killed it."""
    return returncode if returncode >= 0 else 128 - returncode
