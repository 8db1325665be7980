"""Point an environment's Git DAG bundle at a release (`dags_target=none`).

Airflow reads the DAGs from this repository as a `GitDagBundle` that tracks one branch per
environment, `airflow/<env>` (README, "DAGs through a Git DAG bundle"). The deploy moves that
branch to the release's commit after the release's business code is uploaded and before the
release Variable is set, so a new run never starts on DAG code older than its release. The move
is forced: a rollback or a manual deploy of an earlier commit moves the branch back.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from scripts.deploy import DeployError
from scripts.deploy.layout import REPO


def tracking_branch(environment: str) -> str:
    return f"airflow/{environment}"


def push_dags(environment: str, release: str, remote: str = "origin", root: Path = REPO) -> str:
    """Move `remote`'s branch `airflow/<environment>` to the commit `release`; returns it."""
    branch = tracking_branch(environment)
    command = ["git", "push", "--force", "--quiet", remote, f"{release}:refs/heads/{branch}"]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no output"
        raise DeployError(f"git push of {release} to {remote} {branch} failed: {reason}")
    return branch
