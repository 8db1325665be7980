"""Bake the template through cookiecutter's own API, as users do, into temporary folders."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def bake(output_dir: Path, template: Path = TEMPLATE, **answers: str) -> Path:
    """Bake with `answers` over the defaults and return the new repository's path."""
    return Path(
        cookiecutter(
            str(template), no_input=True, output_dir=str(output_dir), extra_context=answers
        )
    )


def run(
    command: list[str], cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run a command in a baked repository, with `env` over its environment; on failure the
    assertion shows its output."""
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env=baked_env() | (env or {})
    )
    if check:
        assert_succeeded(result, cwd)
    return result


def assert_succeeded(result: subprocess.CompletedProcess, cwd: Path) -> None:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} failed ({result.returncode}) in {cwd}\n"
        f"--- stdout ---\n{result.stdout[-20000:]}\n--- stderr ---\n{result.stderr[-20000:]}"
    )


def baked_env() -> dict[str, str]:
    """This process's environment minus the outer tox/venv markers, which would redirect the
    baked repository's own tox and uv into the template's environments."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "VIRTUAL_ENV"))}
    return keep | GIT_IDENTITY


def commit_all(repo: Path) -> None:
    """Track and commit everything, as a user does before the first push."""
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "--no-verify", "-m", "Bake from hybrid-airflow"], repo)


@pytest.fixture(scope="session")
def default_repo(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("default"))
