"""The K8s-only example app: the pod its DAG asks Kubernetes for, built by the provider."""

from __future__ import annotations

import pytest
from airflow.dag_processing.dagbag import DagBag

from {{ cookiecutter.package }}.settings import PACKAGE, TEAM, load_settings
from tests.conftest import APPS_DIR
from tests.k8s_objects import DS, RELEASE, built_pod

DAG_ID = f"{PACKAGE}.k8s_example"
{% raw %}RELEASE_TEMPLATE = "{{ var.value.{% endraw %}{{ cookiecutter.__docker_tag_variable }}{% raw %} }}"{% endraw %}


@pytest.fixture
def score_customers():
    """The task from a fresh parse of the DAG file (rendering changes a task in place)."""
    dagbag = DagBag(dag_folder=str(APPS_DIR / "k8s_example"), safe_mode=False)
    assert not dagbag.import_errors, dagbag.import_errors
    return dagbag.dags[DAG_ID].get_task("score_customers")


def test_image_is_templated_at_parse_time(score_customers):
    settings = load_settings()
    assert score_customers.image == (
        f"{settings.IMAGE_REGISTRY}/k8s_example-score:{RELEASE_TEMPLATE}"
    )


def test_pod_reads_the_days_orders_and_writes_to_its_data_path(score_customers):
    settings = load_settings()
    pod = built_pod(score_customers)
    container = pod["spec"]["containers"][0]
    bucket = settings.DATA_BUCKET
    assert container["image"] == f"{settings.IMAGE_REGISTRY}/k8s_example-score:{RELEASE}"
    assert container["args"] == [
        "--source_path",
        f"{bucket}/landing/orders/{DS}",
        "--result_path",
        f"{bucket}/{PACKAGE}/{DAG_ID}/score_customers/{DS}",
        "--date",
        DS,
    ]
    assert container["resources"] == {
        "limits": {"memory": "1Gi", "cpu": "500m"},
        "requests": {"memory": "1Gi", "cpu": "500m"},
    }
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["imagePullSecrets"] == [
        {"name": name} for name in settings.K8S_IMAGE_PULL_SECRETS
    ]
    assert pod["metadata"]["namespace"] == settings.K8S_NAMESPACE
    labels = pod["metadata"]["labels"]
    assert (labels["team"], labels["app"], labels["dag"], labels["task"]) == (
        TEAM,
        "k8s_example",
        DAG_ID,
        "score_customers",
    )
