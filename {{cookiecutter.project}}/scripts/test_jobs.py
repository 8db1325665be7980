"""Run each business-code project's own tests in its own locked environment, where its inputs
changed since its last green run.

Every folder under jobs/ with a pyproject.toml is a separate deployable with its own
dependencies: nothing is shared with the scheduling side. Between job projects:
- a project whose inputs match its last green run is reused, and a line says so
  (scripts/job_results.py); `--fresh` (`make test FRESH=1`) runs every project;
- projects whose lock, pyproject.toml and tests/conftest.py are the same declare one
  environment: they share it, and run one after another in one process
  (scripts/run_job_tests.py), so their Spark tests share one JVM and Spark session;
- those groups run side by side, one per core.
The Spark projects (jobs/<app>/spark/) test on a local SparkSession, which needs Java: without
it, nothing runs and one line says what to install.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

from scripts.java import java_identity, java_problem
from scripts.job_results import Results, inputs

ROOT = Path(__file__).resolve().parent.parent
JOBS = ROOT / "jobs"
CACHE = ROOT / ".cache"
ENVIRONMENTS = CACHE / "job-envs"  # one per declared environment
RUNNER = Path(__file__).resolve().parent / "run_job_tests.py"


def job_projects() -> list[Path]:
    return sorted(path.parent for path in JOBS.rglob("pyproject.toml") if ".venv" not in path.parts)


def label(project: Path) -> str:
    return project.relative_to(ROOT).as_posix()


def own_environment(**changes: str) -> dict[str, str]:
    """This process's environment without tox's virtualenv (each project uses its own), with
    `changes`."""
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    return environment | changes


def environment_key(project: Path) -> str:
    """Equal for projects that declare the same environment and the same test session."""
    declared = tomllib.loads((project / "pyproject.toml").read_text())
    digest = hashlib.sha256(json.dumps(declared, sort_keys=True, default=str).encode())
    for name in ("uv.lock", ".python-version", "tests/conftest.py"):
        path = project / name
        digest.update(b"\0" + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()[:16]


def python_version(project: Path, environment: Path) -> str:
    """The version of the Python `uv run` gives `project`'s tests: `environment`'s, else the
    one uv would make it with."""
    with suppress(OSError):
        config = (environment / "pyvenv.cfg").read_text()
        if found := re.search(r"^version_info = (\S+)$", config, re.MULTILINE):
            return found[1]
    result = subprocess.run(
        ["uv", "python", "find", "--show-version"],
        cwd=project,
        env=own_environment(UV_PROJECT_ENVIRONMENT=str(environment)),
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or f"none ({result.stderr.strip()})"


def run_group(projects: list[Path], args: list[str], environment: Path) -> tuple[str, dict]:
    """Run `projects` (one declared environment) in `environment`: their output, and what the
    runner reports: the exit code of each project (none where the environment could not be
    made) and the Python they ran on."""
    names = [label(project) for project in projects]
    uv_run = ["uv", "run", "--locked", "--project", names[0], "python", str(RUNNER)]
    with tempfile.NamedTemporaryFile(suffix=".json") as results:
        result = subprocess.run(
            [*uv_run, results.name, *names, "--", *args],
            cwd=ROOT,
            env=own_environment(UV_PROJECT_ENVIRONMENT=str(environment)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            check=False,
        )
        report = json.loads(Path(results.name).read_text() or "{}")
    return result.stdout, report


def spark_projects(projects: list[Path]) -> list[Path]:
    return [project for project in projects if project.name == "spark"]


def plan(keys: dict[Path, str], args: list[str], fresh: bool, results: Results):
    """Each project's inputs, and the projects that must run by declared environment (`keys`:
    each project's); one line per project says whether it runs (and why) or is reused."""
    projects = list(keys)
    spark = spark_projects(projects)
    java = java_identity() if spark else ""
    first = {}  # the first project of each declared environment
    for project, key in keys.items():
        first.setdefault(key, project)
    versions = {key: python_version(project, ENVIRONMENTS / key) for key, project in first.items()}
    current, groups = {}, defaultdict(list)
    for project in projects:
        name = label(project)
        runtime = {"Python": versions[keys[project]], "pytest arguments": " ".join(args)}
        if project in spark:
            runtime["Java"] = java
        current[name] = inputs(project, projects, runtime)
        why = "asked to run all" if fresh else results.why_run(name, current[name])
        if why is None:
            print(f"==> {name}: reused, unchanged since its green run of {results.passed_at(name)}")
        else:
            print(f"==> {name}: runs ({why})")
            groups[keys[project]].append(project)
    return current, groups


def main(argv: list[str]) -> int:
    fresh = "--fresh" in argv or os.environ.get("FRESH", "") not in ("", "0")
    args = [arg for arg in argv if arg != "--fresh"]
    projects = job_projects()
    if not projects:
        print("jobs: no job projects yet (make new-app adds them)")
        return 0
    spark = [label(project) for project in spark_projects(projects)]
    if spark and (problem := java_problem()):
        print(
            f"jobs: the PySpark tests of {', '.join(spark)} start Spark. {problem}", file=sys.stderr
        )
        return 2
    results = Results(CACHE / "test-jobs")
    keys = {project: environment_key(project) for project in projects}
    current, groups = plan(keys, args, fresh, results)
    failed, printing = [], threading.Lock()

    def run(key: str) -> None:
        output, report = run_group(groups[key], args, ENVIRONMENTS / key)
        with printing:
            print(output, end="", flush=True)
            for name in map(label, groups[key]):
                if report.get("codes", {}).get(name) == 0:
                    # Recorded with the Python they did run on.
                    current[name]["runtime"]["Python"] = report["python"]
                    results.passed(name, current[name])
                else:
                    failed.append(name)

    # The largest groups first, so that the last to finish is a short one.
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(run, sorted(groups, key=lambda key: -len(groups[key]))))
    for stale in ENVIRONMENTS.glob("*"):  # environments no project declares any more
        if stale.name not in keys.values():
            shutil.rmtree(stale, ignore_errors=True)
    if failed:
        print(f"jobs: tests failed in {', '.join(sorted(failed))}", file=sys.stderr)
        return 1
    ran = sum(len(group) for group in groups.values())
    print(f"jobs: {len(projects)} projects passed ({ran} ran, {len(projects) - ran} reused)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
