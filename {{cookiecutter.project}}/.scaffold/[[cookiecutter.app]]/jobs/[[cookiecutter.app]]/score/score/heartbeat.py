"""A log line every few seconds while the job works, so a quiet job is not taken for a hung one.

Airflow follows the pod's log stream; a job that prints nothing for a long time (one large
read, one long computation) can see that stream time out. A daemon thread keeps it alive.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def heartbeat(interval_seconds: float) -> Iterator[None]:
    """Log `still working` every `interval_seconds` until the block ends."""
    stop = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not stop.wait(interval_seconds):
            log.info("still working (%.0f s)", time.monotonic() - started)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
