"""Render a container task as a worker does, then build what it would send to Kubernetes."""

from __future__ import annotations

import json
from types import SimpleNamespace

from airflow.sdk.execution_time.context import VariableAccessor
from kubernetes.client import ApiClient

from {{ cookiecutter.package }}.release import TASK_ID as RELEASE_TASK

DS = "2026-01-31"
# The release the run's `release` task pinned, handed on as its XCom.
RELEASE = "test-release"


def render(task) -> dict:
    """Render the task's templated fields with a run-time context; return that context."""

    def xcom_pull(task_ids: str):
        assert task_ids == RELEASE_TASK, f"{task.task_id} pulls {task_ids}, not the release"
        return RELEASE

    ti = SimpleNamespace(
        dag_id=task.dag.dag_id,
        task_id=task.task_id,
        map_index=-1,
        try_number=1,
        xcom_pull=xcom_pull,
    )
    context = {
        "dag": task.dag,
        "ds": DS,
        "run_id": f"scheduled__{DS}T00:00:00+00:00",
        "ti": ti,
        "var": {"value": VariableAccessor(False), "json": VariableAccessor(True)},
    }
    task.render_template_fields(context)
    return context


def api_object(obj, kind: str) -> dict:
    """`obj` as the API server receives it, after a round trip through the client's own
    validating deserializer: a missing required field or a wrong type fails here."""
    client = ApiClient()
    data = client.sanitize_for_serialization(obj)
    again = client.deserialize(SimpleNamespace(data=json.dumps(data)), kind)
    assert client.sanitize_for_serialization(again) == data
    return data


def built_pod(task) -> dict:
    """The pod a KubernetesPodOperator task creates, built by the operator itself."""
    context = render(task)
    return api_object(task.build_pod_request_obj(context, dry_run=True), "V1Pod")


def built_job(task) -> dict:
    """The Job a KubernetesJobOperator task creates (its hook needs a kube config to build it)."""
    context = render(task)
    return api_object(task.build_job_request_obj(context), "V1Job")
