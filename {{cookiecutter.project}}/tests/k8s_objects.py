"""Render a container task as a worker does, then build what it would send to Kubernetes."""

from __future__ import annotations

import json
from types import SimpleNamespace

import kubernetes_validate
from airflow.sdk.execution_time.context import VariableAccessor
from kubernetes.client import ApiClient
from kubernetes.utils.quantity import parse_quantity

from {{ cookiecutter.package }}.release import TASK_ID as RELEASE_TASK
from {{ cookiecutter.package }}.settings import Settings

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


def admission_problems(task, pod: dict, settings: Settings) -> list[str]:
    """Why the namespace of `settings` would not run the task's pod (an empty list: it would).

    The pod is checked against the Kubernetes version's schema (strict: no unknown fields), the
    LimitRange and ResourceQuota of `make k8s-manifests`, and the team's rules: the jobs'
    service account, non-root, and cpu and memory limits on every container.
    """
    where = f"{task.dag_id}: task {task.task_id!r} in {settings.ENV}"
    try:
        kubernetes_validate.validate(pod, settings.K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{where}: not a valid Kubernetes {settings.K8S_VERSION} pod: {error.message}"]
    spec = pod["spec"]
    problems = []
    if spec.get("serviceAccountName") != settings.K8S_SERVICE_ACCOUNT:
        problems.append(f"{where}: runs as {spec.get('serviceAccountName')!r}, not the jobs'")
    if not spec.get("securityContext", {}).get("runAsNonRoot"):
        problems.append(f"{where}: may run as root")
    most = settings.K8S_CONTAINER_LIMITS["max"]
    quota = settings.K8S_QUOTA
    for container in spec["containers"]:
        limits = container.get("resources", {}).get("limits", {})
        requests = container.get("resources", {}).get("requests", limits)
        for resource, allowed in most.items():
            if resource not in limits:
                problems.append(f"{where}: no {resource} limit")
                continue
            checks = (
                (limits[resource], allowed, "the LimitRange max (K8S_CONTAINER_LIMITS)"),
                (limits[resource], quota[f"limits.{resource}"], "the quota (K8S_QUOTA)"),
                (requests[resource], quota[f"requests.{resource}"], "the quota (K8S_QUOTA)"),
            )
            for asked, bound, name in checks:
                if parse_quantity(asked) > parse_quantity(bound):
                    problems.append(f"{where}: {resource} {asked} exceeds {name} {bound}")
    return problems
