"""Run each business-code project's own tests in its own locked environment.

Every folder under jobs/ with a pyproject.toml is a separate deployable with its own
dependencies, so it gets its own `uv run`; nothing is shared with the scheduling side. The Spark
projects (jobs/<app>/spark/) test on a local SparkSession, which needs Java: without it, nothing
runs and one line says what to install.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts.java import java_problem

JOBS = Path(__file__).resolve().parent.parent / "jobs"


def job_projects() -> list[Path]:
    return sorted(path.parent for path in JOBS.rglob("pyproject.toml") if ".venv" not in path.parts)


def own_environment() -> dict[str, str]:
    """This process's environment without tox's virtualenv: each project uses its own."""
    return {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}


def main(argv: list[str]) -> int:
    projects = job_projects()
    if not projects:
        print("jobs: no job projects yet (make new-app adds them)")
        return 0
    spark = [project for project in projects if project.name == "spark"]
    if spark and (problem := java_problem()):
        names = ", ".join(str(project.relative_to(JOBS.parent)) for project in spark)
        print(f"jobs: the PySpark tests of {names} start Spark. {problem}", file=sys.stderr)
        return 2
    failed = []
    for project in projects:
        name = project.relative_to(JOBS.parent)
        print(f"==> {name}", flush=True)
        result = subprocess.run(
            ["uv", "run", "--locked", "pytest", "-q", *argv], cwd=project, env=own_environment()
        )
        if result.returncode != 0:
            failed.append(str(name))
    if failed:
        print(f"jobs: tests failed in {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"jobs: {len(projects)} projects passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
