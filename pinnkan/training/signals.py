"""SIGINT and SIGTERM as requests to stop after the current step, not as exceptions mid-step.

Inside ``with deferred_signals():`` (the command line wraps a whole run, training and
writing, in it) the first SIGINT or SIGTERM is remembered and :class:`StopOnSignal`
ends training after the step under way; further signals only say that the run is
stopping. Outside it (a library call) Ctrl-C raises KeyboardInterrupt as usual and
the trainer records the run as interrupted.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_received: list[str] = []


def pending() -> str | None:
    """The name of the first signal received inside ``deferred_signals``, if any."""
    return _received[0] if _received else None


def exit_code(name: str | None) -> int:
    """The shell's code for a run ended by the signal ``name`` (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(getattr(signal, name)) if name else 0


@contextmanager
def deferred_signals() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def handler(signum, _frame) -> None:
        name = signal.Signals(signum).name
        if _received:
            print(f"pinnkan: {name}: already stopping, writing the outputs; please wait", file=sys.stderr)
        else:
            print(f"pinnkan: {name}: stopping after this step", file=sys.stderr)
        _received.append(name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    _received.clear()
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        _received.clear()
