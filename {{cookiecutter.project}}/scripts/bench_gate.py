"""How long the gate makes a team wait, and what each app adds: `make bench-gate [N=30]`.

In a copy of this repository's files (a temporary git repository, so the lint sees them as
committed), `make test` runs once to install its environments, then is timed:
- with the repository's apps: a first run (`FRESH=1`: every job project runs), a rerun with
  nothing changed, and a rerun after a one-line change in one Spark script;
- the same after `make new-app` added N apps (N/3 of each pattern).
The cost of an added app is the difference of the first runs, divided by N. Wall times of one
run each: the machine's load moves them by a few percent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PATTERNS = ("spark", "k8s", "hybrid")


def sh(command: list[str], cwd: Path, **env: str) -> str:
    """Run `command`; its output, or exit with it printed."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode:
        sys.exit(f"bench-gate: {' '.join(command)} failed in {cwd}:\n{result.stdout}")
    return result.stdout


def copy(into: Path) -> Path:
    """This repository's files (tracked or not ignored), as the only commit of a new one."""
    listed = sh(["git", "ls-files", "-co", "--exclude-standard", "-z"], REPO).split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, into / name)
    sh(["git", "init", "-q"], into)
    commit(into)
    return into


def commit(repo: Path) -> None:
    sh(["git", "add", "-A"], repo)
    who = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    sh(["git", *who, "commit", "-q", "--allow-empty", "-m", "bench"], repo)


def timed_test(repo: Path, **env: str) -> tuple[float, str]:
    """`make test`'s wall time, and what its job side says it ran."""
    start = time.perf_counter()
    out = sh(["make", "test"], repo, **env)
    jobs = re.search(r"jobs: \d+ projects passed \(.*\)|jobs: no job projects yet", out)
    return time.perf_counter() - start, jobs[0] if jobs else ""


def one_line_change(repo: Path) -> str:
    """Change one line of one Spark script (the last one): its project must run again."""
    script = sorted((repo / "jobs").glob("*/spark/*.py"))[-1]
    script.write_text(script.read_text() + "# changed\n")
    commit(repo)
    return str(script.relative_to(repo))


def measure(repo: Path, label: str) -> tuple[float, list[str]]:
    first, jobs_first = timed_test(repo, FRESH="1")
    rerun, jobs_rerun = timed_test(repo)
    changed = one_line_change(repo)
    after, jobs_after = timed_test(repo)
    return first, [
        f"{label:>10} {'first (FRESH=1)':<28} {first:7.1f} s   {jobs_first}",
        f"{'':>10} {'rerun, nothing changed':<28} {rerun:7.1f} s   {jobs_rerun}",
        f"{'':>10} {'rerun, one line changed':<28} {after:7.1f} s   {jobs_after} ({changed})",
    ]


def main(added: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as folder:
        repo = copy(Path(folder))
        apps = len(list((repo / "dags").glob("*/apps/*/*_dag.py")))
        start = time.perf_counter()
        sh(["make", "test"], repo)
        installed = time.perf_counter() - start
        print(f"make test of a fresh copy, its environments installed: {installed:.1f} s")
        base, lines = measure(repo, f"{apps} apps")
        for number in range(added):
            pattern = PATTERNS[number % len(PATTERNS)]
            sh(["make", "new-app", f"name=bench_{pattern}_{number}", f"pattern={pattern}"], repo)
        commit(repo)
        more, more_lines = measure(repo, f"{apps + added} apps")
        print(*lines, *more_lines, sep="\n")
        if added:
            print(f"each added app: {(more - base) / added:.2f} s more on a first run")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
