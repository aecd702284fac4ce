"""A bound on how long one call may take, so an attack that used to run for minutes fails instead of stalling the suite."""
from __future__ import annotations

import contextlib
import signal
from typing import Any, Iterator


@contextlib.contextmanager
def no_hang(seconds: int) -> Iterator[None]:
    """Raise TimeoutError when the block runs longer than ``seconds`` (main thread, SIGALRM)."""
    def alarm(*_: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
