"""set-release against a real Airflow 3 api-server (started once per test session)."""

import os
import subprocess
import sys

import pytest

from scripts.deploy import airflow_variable
from scripts.deploy.cli import main
from scripts.deploy.layout import EMR_POOL, RELEASE_VARIABLE, REPO, load_environment
from tests.deploy.support import EARLIER_RELEASE, RELEASE, free_port

pytestmark = pytest.mark.api_server


def set_release(*args: str) -> int:
    return main(["set-release", "dev", *args, "--api", "airflow"])


def test_creates_the_variable(rest_api_env, capsys):
    assert rest_api_env.variable(RELEASE_VARIABLE) is None
    assert set_release(EARLIER_RELEASE) == 0
    assert rest_api_env.variable(RELEASE_VARIABLE) == EARLIER_RELEASE
    assert f"{RELEASE_VARIABLE}={EARLIER_RELEASE}" in capsys.readouterr().out


def test_overwrites_and_repeats_without_error(rest_api_env):
    assert set_release(EARLIER_RELEASE) == 0
    assert set_release(RELEASE) == 0
    assert set_release(RELEASE) == 0
    assert rest_api_env.variable(RELEASE_VARIABLE) == RELEASE


def test_creates_and_keeps_the_emr_pool_at_the_environments_slots(rest_api_env, capsys):
    assert set_release(EARLIER_RELEASE) == 0
    assert set_release(RELEASE) == 0
    slots = load_environment("dev").emr_max_clusters
    assert rest_api_env.pool_slots(EMR_POOL) == slots
    assert f"pool {EMR_POOL} has {slots} slots" in capsys.readouterr().out


def test_dry_run_sets_nothing(rest_api_env, capsys):
    assert set_release(EARLIER_RELEASE) == 0
    assert set_release(RELEASE, "--dry-run") == 0
    assert rest_api_env.variable(RELEASE_VARIABLE) == EARLIER_RELEASE
    out = capsys.readouterr().out
    assert f"dry run: would set {RELEASE_VARIABLE}={RELEASE} in Airflow at" in out


def test_wrong_password_is_one_line_without_the_secret(rest_api_env, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_PASSWORD", "not-" + rest_api_env.password)
    assert set_release(RELEASE) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"error: Airflow at {rest_api_env.url} rejected the credentials of 'deployer' (HTTP 401)"
    ]
    assert rest_api_env.password not in out + err


def test_a_user_without_write_access_gets_the_http_status(rest_api_env, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_USERNAME", rest_api_env.viewer)
    monkeypatch.setenv("AIRFLOW_PASSWORD", rest_api_env.viewer_password)
    assert set_release(RELEASE) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: PATCH {rest_api_env.url}/api/v2/variables answered HTTP 403")


def test_unreachable_airflow_is_asked_again_then_fails_in_one_line(
    rest_api_env, waits, monkeypatch, capsys
):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AIRFLOW_URL", url)
    assert set_release(RELEASE) == 1
    assert waits == list(airflow_variable.RETRY_WAITS), "a refused connection is tried again"
    *retries, error = capsys.readouterr().err.splitlines()
    assert [line.rsplit("; ", 1)[-1] for line in retries] == [
        f"asking again in {wait} s" for wait in airflow_variable.RETRY_WAITS
    ]
    assert error.startswith(f"error: cannot reach {url}/auth/token: ")


def test_the_command_line_entry_point(rest_api_env):
    """As the workflow runs it: secrets only in the environment, never in the output."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.deploy", "set-release", "dev", RELEASE, "--api", "airflow"],
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert rest_api_env.password not in result.stdout + result.stderr
    assert rest_api_env.variable(RELEASE_VARIABLE) == RELEASE
