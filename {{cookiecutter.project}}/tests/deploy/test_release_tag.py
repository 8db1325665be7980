"""The tag the deploy sets is the tag a container task runs: set it through the real API server,
then render the K8s example's tasks the way Airflow does (`airflow tasks render`)."""

import subprocess
import sys

import pytest

from scripts.deploy.cli import main
from scripts.deploy.layout import DOCKER_TAG_VARIABLE, PACKAGE, REPO, load_environment
from tests.deploy.support import RELEASE

pytestmark = pytest.mark.api_server

APP = "k8s_example"
METASTORE = "airflow.secrets.metastore.MetastoreBackend"


def rendered_image(server, dag_id: str, task_id: str) -> str:
    # The CLI renders outside a task runner: let it read Variables from the metadata DB.
    env = server.env | {"AIRFLOW__SECRETS__BACKEND": METASTORE}
    command = [sys.executable, "-m", "airflow", "tasks", "render", dag_id, task_id, "2026-01-01"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    return lines[lines.index("# property: image") + 2]


def test_container_tasks_run_the_image_of_the_release(rest_api_env, dagbag):
    if not (REPO / "dags" / PACKAGE / "apps" / APP).is_dir():
        pytest.skip(f"no apps/{APP} in this repository: no container task to render")
    dag = dagbag.dags[f"{PACKAGE}.{APP}"]
    tasks = [task for task in dag.tasks if DOCKER_TAG_VARIABLE in str(getattr(task, "image", ""))]
    assert tasks, f"no task of {dag.dag_id} takes its image tag from {DOCKER_TAG_VARIABLE}"
    assert main(["set-release", "dev", RELEASE, "--api", "airflow"]) == 0
    registry = load_environment("dev").image_registry
    for task in tasks:
        image = rendered_image(rest_api_env, dag.dag_id, task.task_id)
        assert image.startswith(f"{registry}/{APP}-"), image
        assert image.endswith(f":{RELEASE}"), image
