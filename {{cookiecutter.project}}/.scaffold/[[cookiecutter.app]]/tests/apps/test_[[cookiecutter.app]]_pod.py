"""The pod the app's container task asks Kubernetes for, built by the provider."""

from __future__ import annotations

import pytest
from airflow.dag_processing.dagbag import DagBag

from [[ cookiecutter.package ]].release import TEMPLATE as RELEASE_TEMPLATE
from [[ cookiecutter.package ]].settings import PACKAGE, TEAM, load_settings

from tests.conftest import APPS_DIR
from tests.k8s_objects import DS, RELEASE, admission_problems, built_pod

APP = "[[ cookiecutter.app ]]"
DAG_ID = f"{PACKAGE}.{APP}"


@pytest.fixture
def score():
    """The task from a fresh parse of the DAG file (rendering changes a task in place)."""
    dagbag = DagBag(dag_folder=str(APPS_DIR / APP), safe_mode=False)
    assert not dagbag.import_errors, dagbag.import_errors
    return dagbag.dags[DAG_ID].get_task("score")


def test_image_is_templated_at_parse_time(score):
    image = f"{load_settings().IMAGE_REGISTRY}/{APP}-score"
    assert score.image == f"{image}:{RELEASE_TEMPLATE}"


def test_pod_reads_its_source_and_writes_to_its_data_path(score):
    settings = load_settings()
    bucket = settings.DATA_BUCKET
[% if cookiecutter.pattern == "k8s" %]    source = f"{bucket}/landing/orders/{DS}"
[% else %]    source = f"{bucket}/{PACKAGE}/{DAG_ID}/preprocess/{DS}"
[% endif %]    pod = built_pod(score)
    container = pod["spec"]["containers"][0]
    assert container["image"] == f"{settings.IMAGE_REGISTRY}/{APP}-score:{RELEASE}"
    assert container["args"] == [
        "--source_path",
        source,
        "--result_path",
        f"{bucket}/{PACKAGE}/{DAG_ID}/score/{DS}",
        "--date",
        DS,
    ]
    assert container["resources"] == {
        "limits": {"memory": "1Gi", "cpu": "500m"},
        "requests": {"memory": "1Gi", "cpu": "500m"},
    }
    assert not admission_problems(score, pod, settings), "the namespace would refuse the pod"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["imagePullSecrets"] == [
        {"name": name} for name in settings.K8S_IMAGE_PULL_SECRETS
    ]
    assert pod["metadata"]["namespace"] == settings.K8S_NAMESPACE
    labels = pod["metadata"]["labels"]
    assert (labels["team"], labels["app"], labels["dag"], labels["task"]) == (
        TEAM,
        APP,
        DAG_ID,
        "score",
    )
