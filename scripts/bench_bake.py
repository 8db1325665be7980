"""Print how long one bake takes (target: under 1 s on a 2-core machine).

Usage: python scripts/bench_bake.py [runs]   (needs cookiecutter, e.g. `.tox/tests/bin/python`)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent


def bake_once(**answers: str) -> float:
    with tempfile.TemporaryDirectory() as output_dir, quiet_hooks():
        start = time.perf_counter()
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=output_dir, extra_context=answers)
        return time.perf_counter() - start


@contextmanager
def quiet_hooks():
    """Hooks run as child processes printing their next steps: send their stdout away."""
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def main(runs: int) -> None:
    for label, answers in (("defaults", {}), ("example_apps=no", {"example_apps": "no"})):
        times = [bake_once(**answers) for _ in range(runs)]
        print(
            f"bake {label:<16} runs={runs} median={statistics.median(times):.3f}s "
            f"min={min(times):.3f}s max={max(times):.3f}s"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
