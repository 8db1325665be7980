"""Run the tests of job projects that declare one environment, one after another in this process.

`scripts/test_jobs.py` starts it in the environment of projects whose lock, pyproject.toml and
tests/conftest.py are all the same. In one process, their Spark tests share one JVM and one Spark
session, whose start is most of a small project's test time: the conftest that makes it is the
same for all, and hands it on without the settings, cache and temporary views a project left.
Each project still gets its own pytest session from its own folder, compiled afresh (Python
would trust a cached module of the same size and second), and its modules and import paths are
forgotten before the next project imports its own (Spark scripts are top-level modules of the
same names in every app).

Only the standard library and pytest: it runs in the projects' environment.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [path for path in sys.path if path != HERE]  # not the projects' to import from


def run(project: Path, args: list[str]) -> int:
    """`project`'s pytest session, from its folder, on its sources as they are; its modules
    and import paths are dropped after."""
    for folder, subfolders, _ in os.walk(project):
        if "__pycache__" in subfolders:
            shutil.rmtree(Path(folder, "__pycache__"), ignore_errors=True)
        subfolders[:] = [name for name in subfolders if name not in (".venv", "__pycache__")]
    os.chdir(project)
    modules, path = set(sys.modules), list(sys.path)
    code = pytest.main(["-q", *args])
    for name in set(sys.modules) - modules:
        origin = getattr(sys.modules[name], "__file__", None)
        if origin and Path(origin).resolve().is_relative_to(project):
            del sys.modules[name]
    sys.path[:] = path
    importlib.invalidate_caches()
    return int(code)


def main(argv: list[str]) -> int:
    """argv: the report file, the projects' folders, `--`, the pytest arguments. The report:
    each project's exit code, and the Python they ran on."""
    results_file, *rest = argv
    split = rest.index("--")
    root = Path.cwd()
    results = {}
    for name in rest[:split]:
        print(f"==> {name}", flush=True)
        results[name] = run((root / name).resolve(), rest[split + 1 :])
    report = {"codes": results, "python": platform.python_version()}
    Path(results_file).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
