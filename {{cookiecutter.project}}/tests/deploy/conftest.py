"""Fixtures of the deploy tests: a repository tree, a docker stand-in, AWS under moto and a
real local Airflow api-server."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from scripts.deploy import airflow_variable, infra
from scripts.deploy.layout import (
    PACKAGE,
    RELEASE_VARIABLE,
    REPO,
    Environment,
    load_environment,
    split_s3_uri,
)
from tests.conftest import REGION, STACK_ENVIRONMENTS
from tests.deploy.support import (
    REGISTRY,
    AirflowServer,
    FakeDocker,
    create_bucket,
    free_port,
    wait_until_ready,
)


@pytest.fixture
def environment() -> Environment:
    return Environment(
        name="dev",
        aws_region="eu-west-1",
        deployment_bucket="s3://team-deployment/dev",
        image_registry=REGISTRY,
        emr_max_clusters=2,
        image_platform="linux/arm64",
    )


@pytest.fixture
def tree(tmp_path) -> Path:
    """A repository with two apps: container jobs, Spark scripts and their tests."""
    files = {
        "jobs/recommend/train/Dockerfile": "FROM python:3.12-slim\n",
        "jobs/recommend/train/train.py": "",
        "jobs/recommend/spark/prepare.py": "print('prepare')\n",
        "jobs/recommend/spark/conftest.py": "",
        "jobs/recommend/spark/tests/test_prepare.py": "",
        "jobs/recommend/docs/README.md": "not a job: no Dockerfile\n",
        "jobs/report/spark/aggregate.py": "print('aggregate')\n",
        "jobs/report/publish/Dockerfile": "FROM python:3.12-slim\n",
        f"dags/{PACKAGE}/__init__.py": "",
        f"dags/{PACKAGE}/apps/report/report_dag.py": "# a DAG\n",
        f"dags/{PACKAGE}/environments/dev.json": "{}\n",
        f"dags/{PACKAGE}/__pycache__/settings.cpython-311.pyc": "bytecode",
    }
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    return tmp_path


@pytest.fixture
def aws(monkeypatch):
    """Every AWS call in this process goes to moto, with throwaway credentials."""
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def stacks(stack_repo, aws, capsys):
    """The dev and staging stacks, as `make infra` creates them; returns what dev printed."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    infra.deploy_stack("dev", cloudformation, stack_repo)
    printed = capsys.readouterr().out
    infra.deploy_stack("staging", cloudformation, stack_repo)
    capsys.readouterr()
    for env in STACK_ENVIRONMENTS:  # the S3 DAGs folders (MWAA's buckets) exist already
        bucket, _ = split_s3_uri(load_environment(env, stack_repo).infra_setting("DAGS_S3_URI"))
        create_bucket(boto3.client("s3", region_name=REGION), bucket)
    return printed


@pytest.fixture
def fake_docker(tmp_path, monkeypatch) -> FakeDocker:
    return FakeDocker(tmp_path / "docker", monkeypatch)


@pytest.fixture(scope="session")
def airflow_server(tmp_path_factory) -> AirflowServer:
    """A real Airflow 3 api-server on a free loopback port: sqlite, simple auth manager, two
    users (an admin and a viewer), and this repository's DAGs folder."""
    home = tmp_path_factory.mktemp("airflow-home")
    passwords = {"deployer": secrets.token_urlsafe(12), "watcher": secrets.token_urlsafe(12)}
    (home / "passwords.json").write_text(json.dumps(passwords))
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "deployer:admin,watcher:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    }
    airflow = [sys.executable, "-m", "airflow"]
    migrate = subprocess.run([*airflow, "db", "migrate"], env=env, capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    port = free_port()
    log = home / "api-server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process, log)
        yield AirflowServer(
            url, "deployer", passwords["deployer"], "watcher", passwords["watcher"], env
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def rest_api_env(airflow_server, monkeypatch) -> AirflowServer:
    """The deploy's environment variables for the local api-server's admin user; the
    docker-tag Variable is not set yet."""
    airflow_server.delete_variable(RELEASE_VARIABLE)
    monkeypatch.setenv("AIRFLOW_URL", airflow_server.url)
    monkeypatch.setenv("AIRFLOW_USERNAME", airflow_server.username)
    monkeypatch.setenv("AIRFLOW_PASSWORD", airflow_server.password)
    return airflow_server


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The deploy's waits between attempts, recorded instead of waited."""
    waits: list[float] = []
    monkeypatch.setattr(airflow_variable.time, "sleep", waits.append)
    return waits
