"""Local tasks run their work as a child process, its output streamed into the task log."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from airflow.sdk.exceptions import AirflowFailException

# The scheduling side's own environment: a job's `uv run` must not see it.
PARENT_ENVIRONMENT = ("VIRTUAL_ENV", "PYTHONPATH")


class LocalRunError(AirflowFailException):
    """A local task that cannot succeed; it fails at once, as retrying would not help."""


def uv_run(project: Path, *, dev: bool) -> list[str]:
    """`uv run` in the locked environment of `project`, with or without its dev group."""
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` names itself in $UV
    if not uv:
        raise LocalRunError("uv not found: install it (https://docs.astral.sh/uv/) or use make")
    return [uv, "run", "--locked", *([] if dev else ["--no-dev"]), "--project", str(project)]


class LocalProcess:
    """For local twins of operators: run one command; a non-zero exit fails the task."""

    _process: subprocess.Popen | None = None

    def run_process(
        self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.log.info("Running in %s:\n  %s", cwd, shlex.join(command))
        environment = {k: v for k, v in os.environ.items() if k not in PARENT_ENVIRONMENT}
        with subprocess.Popen(
            command,
            cwd=cwd,
            env=environment | dict(env or {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as self._process:
            for line in self._process.stdout:
                self.log.info("%s", line.rstrip())
        if self._process.returncode:
            raise LocalRunError(
                f"exited with code {self._process.returncode} (its output is in the task log)"
            )

    def on_kill(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
