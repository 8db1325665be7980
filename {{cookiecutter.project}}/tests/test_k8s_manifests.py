"""The namespace's manifests: valid for the cluster's Kubernetes version, and least privilege."""

from __future__ import annotations

import os
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml
from airflow.sdk import DAG
from kubernetes.client import V1ObjectMeta, V1Pod

from {{ cookiecutter.package }} import k8s
from {{ cookiecutter.package }}.settings import PACKAGE, environments, load_settings

from scripts import k8s_manifests
from tests.conftest import REPO

CLOUD = [env for env in environments() if load_settings(env).RUNTIME is None]
DEFERRABLE = [env for env in CLOUD if load_settings(env).DEFERRABLE]


def render(*args: str) -> subprocess.CompletedProcess:
    """`make k8s-manifests` without make: the same module, as a new process."""
    command = [sys.executable, "-m", "scripts.k8s_manifests", *args]
    env = os.environ | {"PYTHONPATH": "dags"}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module", params=CLOUD)
def rendered(request) -> tuple[str, dict[str, dict]]:
    result = render(request.param)
    assert result.returncode == 0, result.stderr
    objects = {obj["kind"]: obj for obj in yaml.safe_load_all(result.stdout)}
    return request.param, objects


def test_every_manifest_is_valid_for_the_clusters_version(rendered):
    env, objects = rendered
    version = load_settings(env).K8S_VERSION
    for obj in objects.values():
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_namespace_enforces_restricted_pods(rendered):
    env, objects = rendered
    settings = load_settings(env)
    namespace = objects["Namespace"]["metadata"]
    assert namespace["name"] == settings.K8S_NAMESPACE
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for kind, obj in objects.items():
        if kind != "Namespace":
            assert obj["metadata"]["namespace"] == settings.K8S_NAMESPACE, kind


def test_the_jobs_service_account_carries_their_iam_role(rendered):
    env, objects = rendered
    settings = load_settings(env)
    account = objects["ServiceAccount"]
    assert account["metadata"]["name"] == settings.K8S_SERVICE_ACCOUNT
    assert account["automountServiceAccountToken"] is False
    annotations = account["metadata"].get("annotations", {})
    assert annotations.get("eks.amazonaws.com/role-arn") == settings.K8S_SERVICE_ACCOUNT_ROLE_ARN


def test_quota_and_limit_range_come_from_the_settings(rendered):
    env, objects = rendered
    settings = load_settings(env)
    assert objects["ResourceQuota"]["spec"]["hard"] == settings.K8S_QUOTA
    (limits,) = objects["LimitRange"]["spec"]["limits"]
    assert limits["type"] == "Container"
    assert limits["max"] == settings.K8S_CONTAINER_LIMITS["max"]
    assert limits["default"] == settings.K8S_CONTAINER_LIMITS["default"]


def test_airflow_may_run_pods_and_jobs_here_and_nothing_else(rendered):
    env, objects = rendered
    settings = load_settings(env)
    binding = objects["RoleBinding"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": objects["Role"]["metadata"]["name"],
    }
    subjects = [
        {k: subject[k] for k in ("kind", "name", "namespace") if k in subject}
        for subject in binding["subjects"]
    ]
    assert subjects == settings.K8S_AIRFLOW_SUBJECTS
    granted = {
        (group, resource): set(rule["verbs"])
        for rule in objects["Role"]["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    lifecycle = {"create", "get", "list", "watch", "patch", "delete"}
    assert granted == {
        ("", "pods"): lifecycle,
        ("", "pods/log"): {"get"},
        ("", "events"): {"list"},
        ("batch", "jobs"): lifecycle,
        ("batch", "jobs/status"): {"get"},
    }


def test_rendering_says_the_network_policy_needs_a_plugin_that_enforces_it(capsys):
    assert k8s_manifests.main(["dev"]) == 0
    stderr = capsys.readouterr().err
    assert stderr.splitlines() == [k8s_manifests.NETWORK_POLICY_NOTE]
    assert "enableNetworkPolicy" in stderr


def test_network_policy_denies_all_but_dns_and_https_out(rendered):
    _, objects = rendered
    spec = objects["NetworkPolicy"]["spec"]
    assert spec["podSelector"] == {}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in spec
    ports = [(p["protocol"], p["port"]) for rule in spec["egress"] for p in rule["ports"]]
    assert sorted(ports) == [("TCP", 53), ("TCP", 443), ("UDP", 53)]
    https = next(rule for rule in spec["egress"] if rule["ports"][0]["port"] == 443)
    assert https["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]


def test_an_unknown_environment_is_one_line_and_exit_code_2():
    result = render("nowhere")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: unknown environment 'nowhere' (known: {', '.join(environments())})"
    ]


@pytest.mark.parametrize("env", DEFERRABLE)
def test_a_deferred_wait_runs_as_a_subject_the_namespace_binds(env, monkeypatch):
    """Where waits are deferrable, a container job's wait runs in the triggerer with the task's
    cluster credentials: in the cluster, the triggerer's own service account, which the
    RoleBinding must bind besides the workers' (the Helm chart gives each its own)."""
    settings = load_settings(env)
    monkeypatch.setattr(k8s, "load_settings", lambda: settings)
    dag = DAG(f"{PACKAGE}.deferred", schedule=None)
    task = k8s.container_job(task_id="job", image="app-job", memory="1Gi", cpu="1", dag=dag)
    task.pod = V1Pod(metadata=V1ObjectMeta(name="job-1", namespace=settings.K8S_NAMESPACE))
    deferred = []
    monkeypatch.setattr(task, "defer", lambda **kwargs: deferred.append(kwargs["trigger"]))
    task.invoke_defer_method()
    [trigger] = deferred
    _, credentials = trigger.serialize()
    _, binding = k8s_manifests.airflow_role(settings)
    accounts = [subject for subject in binding.subjects if subject.kind == "ServiceAccount"]
    if credentials.get("in_cluster"):
        assert len(accounts) >= 2, f"{env}: the workers' and the triggerer's service accounts"
    else:  # a kube config or a connection: the triggerer signs in as the workers do
        assert not credentials.get("in_cluster")
