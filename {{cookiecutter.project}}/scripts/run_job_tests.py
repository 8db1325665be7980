"""Run the tests of job projects that declare one environment, one after another in this process.

`scripts/test_jobs.py` starts it in the environment of projects whose lock, pyproject.toml and
tests/conftest.py are all the same. In one process, their Spark tests share one JVM, whose start
is most of a small project's test time, and the conftest that configures it is the same for all.
Each project still gets its own pytest session from its own folder, and its modules are
forgotten before the next project imports its own (Spark scripts are top-level modules of the
same names in every app).

Only the standard library and pytest: it runs in the projects' environment.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import pytest

del sys.path[0]  # this script's folder: not the projects' to import from


def run(project: Path, args: list[str]) -> int:
    """`project`'s pytest session, from its folder; its modules are unloaded after."""
    os.chdir(project)
    before = set(sys.modules)
    code = pytest.main(["-q", *args])
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None)
        if origin and Path(origin).resolve().is_relative_to(project):
            del sys.modules[name]
    importlib.invalidate_caches()
    return int(code)


def main(argv: list[str]) -> int:
    """argv: the results file, the projects' folders, `--`, the pytest arguments."""
    results_file, *rest = argv
    split = rest.index("--")
    root = Path.cwd()
    results = {}
    for name in rest[:split]:
        print(f"==> {name}", flush=True)
        results[name] = run((root / name).resolve(), rest[split + 1 :])
    Path(results_file).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
