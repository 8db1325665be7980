"""A broken environment file stops every command that reads it: one line naming the file and
the key, exit code 2, and nothing written (no output for the deploy's next steps or kubectl,
no AWS call)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PACKAGE_DIR, REPO

COMMANDS = {
    "settings": ["-m", "scripts.deploy", "settings", "dev"],
    "infra": ["-m", "scripts.deploy", "infra", "dev"],
    "k8s-manifests": ["-m", "scripts.k8s_manifests", "dev"],
}


def without(key: str):
    return lambda settings: {name: value for name, value in settings.items() if name != key}


def with_value(key: str, value):
    return lambda settings: settings | {key: value}


# A command, how dev's settings are broken (the file's text, or a change of its settings), and
# what the error line says.
BREAKAGES = {
    "settings-json": ("settings", '{\n  "ENV": "dev",\n}', "invalid JSON at line 3"),
    "settings-unknown": ("settings", with_value("DAGS", "x"), "('DAGS' was unexpected)"),
    "settings-missing": ("settings", without("K8S_NAMESPACE"), "'K8S_NAMESPACE' is a required"),
    "infra-empty": ("infra", "", "empty file"),
    "infra-bucket": ("infra", with_value("DATA_BUCKET", "s3://Bad Bucket"), "$.DATA_BUCKET"),
    "k8s-manifests-json": ("k8s-manifests", "{", "invalid JSON at line 1"),
}


def run(repo: Path, arguments: list[str]) -> subprocess.CompletedProcess:
    """A command of `repo` as make runs it, without AWS credentials."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["PYTHONPATH"] = "dags"
    command = [sys.executable, *arguments]
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("command", "change", "message"), BREAKAGES.values(), ids=BREAKAGES)
def test_a_broken_environment_file_stops_the_command_in_one_line(
    stack_repo, command, change, message
):
    path = stack_repo / PACKAGE_DIR.relative_to(REPO) / "environments" / "dev.json"
    text = change if isinstance(change, str) else json.dumps(change(json.loads(path.read_text())))
    path.write_text(text)
    result = run(stack_repo, COMMANDS[command])
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr.startswith(f"error: {path}: ") and message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_a_deploy_environment_is_a_file_name_not_a_path(stack_repo):
    result = run(stack_repo, ["-m", "scripts.deploy", "settings", "../environments/dev"])
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: unknown environment '../environments/dev'")
