"""container_job: the pods and Kubernetes Jobs it asks for, as the provider itself builds them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from airflow.providers.cncf.kubernetes.operators.job import KubernetesJobOperator
from airflow.sdk import DAG
from kubernetes.client import V1LocalObjectReference

from {{ cookiecutter.package }} import k8s
from {{ cookiecutter.package }}.defaults import DAGRUN_TIMEOUT
from {{ cookiecutter.package }}.settings import PACKAGE, TEAM, load_settings

from tests.k8s_objects import DS, RELEASE, built_job, built_pod, render

SETTINGS = load_settings()
IMAGE = f"{SETTINGS.IMAGE_REGISTRY}/my_app-my_job"


def new_dag(**kwargs) -> DAG:
    return DAG(f"{PACKAGE}.my_app", schedule=None, start_date=datetime(2026, 1, 1), **kwargs)


def job(dag: DAG | None = None, **kwargs):
    """A container job with the keywords every test needs, in a new DAG unless given one."""
    options = {"memory": "2Gi", "cpu": "1"} | kwargs
    return k8s.container_job(
        task_id="my_job", image="my_app-my_job", dag=dag or new_dag(), **options
    )


@pytest.fixture
def kube_config(tmp_path):
    """A kube config file for a cluster that is never called (building a Job reads one)."""
    path = tmp_path / "kubeconfig"
    cluster = {"name": "test", "cluster": {"server": "https://127.0.0.1:6443"}}
    context = {"name": "test", "context": {"cluster": "test", "user": "test"}}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": "test", "user": {}}],
        "contexts": [context],
        "current-context": "test",
    }
    path.write_text(json.dumps(config))
    return str(path)


def test_image_is_the_registry_name_and_the_released_tag():
    task = job()
    assert task.image == f"{IMAGE}:{k8s.IMAGE_TAG}"
    assert built_pod(task)["spec"]["containers"][0]["image"] == f"{IMAGE}:{RELEASE}"


def test_arguments_render_and_a_mapping_becomes_pairs():
    task = job(arguments={"--bucket": "{% raw %}{{ config.DATA_BUCKET }}{% endraw %}", "--date": "{% raw %}{{ ds }}{% endraw %}"})
    container = built_pod(task)["spec"]["containers"][0]
    assert container["args"] == ["--bucket", SETTINGS.DATA_BUCKET, "--date", DS]
    assert built_pod(job(arguments=["--flag"]))["spec"]["containers"][0]["args"] == ["--flag"]


def test_limits_are_required_and_requests_default_to_them():
    container = built_pod(job(memory="8Gi", cpu="2"))["spec"]["containers"][0]
    assert container["resources"] == {
        "limits": {"memory": "8Gi", "cpu": "2"},
        "requests": {"memory": "8Gi", "cpu": "2"},
    }
    lower = job(memory="8Gi", cpu="2", memory_request="4Gi", cpu_request="500m")
    assert built_pod(lower)["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "8Gi", "cpu": "2"},
        "requests": {"memory": "4Gi", "cpu": "500m"},
    }


def test_pod_runs_in_the_environment_namespace_with_team_labels():
    pod = built_pod(job())
    assert pod["metadata"]["namespace"] == SETTINGS.K8S_NAMESPACE
    expected = {
        "team": TEAM,
        "project": PACKAGE,
        "app": "my_app",
        "dag": f"{PACKAGE}.my_app",
        "task": "my_job",
        "dag_id": f"{PACKAGE}.my_app",  # added by the provider at run time
        "task_id": "my_job",
    }
    assert expected.items() <= pod["metadata"]["labels"].items()


def test_pod_is_locked_down_with_a_writable_tmp():
    spec = built_pod(job())["spec"]
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = spec["containers"][0]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": k8s.TMP}]


def test_operator_follows_the_team_conventions():
    task = job()
    assert task.get_logs is True
    assert task.do_xcom_push is False
    assert task.on_finish_action.value == SETTINGS.K8S_ON_FINISH_ACTION == "delete_succeeded_pod"
    assert task.startup_timeout_seconds == SETTINGS.K8S_STARTUP_TIMEOUT_SECONDS
    assert task.in_cluster is SETTINGS.K8S_IN_CLUSTER
    assert task.deferrable is SETTINGS.DEFERRABLE
    assert task.logging_interval == k8s.LOGGING_INTERVAL_SECONDS


def test_environment_settings_reach_the_pod(monkeypatch):
    prod = load_settings("prod").replace(
        K8S_IMAGE_PULL_SECRETS=("registry-credentials",),
        K8S_SERVICE_ACCOUNT="jobs",
        K8S_NAMESPACE="prod-jobs",
    )
    monkeypatch.setattr(k8s, "load_settings", lambda: prod)
    task = job()
    pod = built_pod(task)
    assert pod["spec"]["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert pod["spec"]["serviceAccountName"] == "jobs"
    assert pod["metadata"]["namespace"] == "prod-jobs"
    assert task.deferrable is True


def test_every_default_can_be_overridden_per_task(kube_config):
    task = job(
        namespace="other",
        image_pull_secrets=[V1LocalObjectReference(name="first")],
        on_finish_action="keep_pod",
        config_file=kube_config,
        labels={"cost-center": "42", "team": "platform"},
        retries=5,
    )
    assert (task.in_cluster, task.config_file, task.kubernetes_conn_id) == (None, kube_config, None)
    assert task.on_finish_action.value == "keep_pod"
    assert task.retries == 5
    pod = built_pod(task)
    assert pod["metadata"]["namespace"] == "other"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "first"}]
    assert pod["metadata"]["labels"]["cost-center"] == "42"
    assert pod["metadata"]["labels"]["team"] == "platform"


def test_kind_job_runs_on_the_kubernetes_jobs_api(kube_config):
    task = job(kind="job", config_file=kube_config)
    assert isinstance(task, KubernetesJobOperator)
    assert task.wait_until_job_complete is True
    spec = built_job(task)
    assert spec["kind"] == "Job"
    assert spec["metadata"]["namespace"] == SETTINGS.K8S_NAMESPACE
    assert spec["metadata"]["labels"]["task"] == "my_job"
    assert spec["spec"]["backoffLimit"] == k8s.JOB_BACKOFF_LIMIT
    assert spec["spec"]["ttlSecondsAfterFinished"] == k8s.JOB_TTL_SECONDS
    pod = spec["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == f"{IMAGE}:{RELEASE}"
    assert pod["containers"][0]["resources"]["limits"] == {"memory": "2Gi", "cpu": "1"}
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_a_job_has_a_deadline_in_airflow_and_in_kubernetes(kube_config):
    default = timedelta(seconds=SETTINGS.K8S_JOB_TIMEOUT_SECONDS)
    pod_task = job()
    assert pod_task.execution_timeout == default
    assert built_pod(pod_task)["spec"]["activeDeadlineSeconds"] == SETTINGS.K8S_JOB_TIMEOUT_SECONDS

    job_task = job(kind="job", config_file=kube_config, timeout=timedelta(minutes=20))
    assert job_task.execution_timeout == timedelta(minutes=20)
    assert built_job(job_task)["spec"]["activeDeadlineSeconds"] == 1200


def test_a_container_dag_gets_a_run_timeout_unless_it_set_one():
    assert job().dag.dagrun_timeout == DAGRUN_TIMEOUT
    assert job(new_dag(dagrun_timeout=timedelta(hours=3))).dag.dagrun_timeout == timedelta(hours=3)


def test_team_macros_are_added_when_the_dag_forgot_them():
    task = job(arguments=["{% raw %}{{ config.ENV }}{% endraw %}"])  # new_dag() has no macros
    render(task)
    assert task.arguments == [SETTINGS.ENV]
    mine = new_dag(user_defined_macros={"owner": "me"})
    job(mine)
    assert set(mine.user_defined_macros) == {"owner", "config", "release"}


BAD_JOBS = [
    ({"memory": None}, r"memory= and cpu= are required"),
    ({"cpu": None}, r"memory= and cpu= are required"),
    ({"memory": "lots"}, r"memory is not a Kubernetes quantity"),
    ({"cpu": "1", "cpu_request": "2"}, r"cpu request 2 exceeds its limit 1"),
    ({"image": "my_app-my_job:latest"}, r"carries a tag or digest"),
    ({"image": "my_app-my_job:v1.2"}, r"carries a tag or digest"),
    ({"image": "my_app-my_job@sha256:" + "0" * 64}, r"carries a tag or digest"),
    ({"image": "registry.example.com/my_app-my_job"}, r"not an image name"),
    ({"image": "My_Job"}, r"not an image name"),
    ({"resources": {"cpus": 1}}, r"pass memory= and cpu="),
    ({"container_resources": None}, r"pass memory= and cpu="),
    ({"is_delete_operator_pod": True}, r"pass on_finish_action="),
    ({"kind": "deployment"}, r"kind must be 'pod' or 'job'"),
    ({"arguments": "--date 2026-01-31"}, r"arguments is a list or a mapping"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_JOBS, ids=[str(k) for k, _ in BAD_JOBS])
def test_bad_jobs_are_rejected_with_the_task_and_the_fix(kwargs, message):
    options = {"task_id": "my_job", "image": "my_app-my_job", "memory": "2Gi", "cpu": "1"}
    with pytest.raises(k8s.ContainerJobError, match=rf"container_job 'my_job': .*{message}"):
        k8s.container_job(dag=new_dag(), **(options | kwargs))


def test_a_job_outside_a_dag_is_rejected():
    with pytest.raises(k8s.ContainerJobError, match=r"inside `with DAG\(...\)` or pass dag="):
        k8s.container_job(task_id="my_job", image="my_app-my_job", memory="2Gi", cpu="1")


def test_an_eks_cluster_is_reached_with_the_aws_connection(monkeypatch):
    """Airflow outside the cluster (MWAA): the amazon provider's EksPodOperator, pods only."""
    from airflow.providers.amazon.aws.operators.eks import EksPodOperator

    eks = SETTINGS.replace(K8S_IN_CLUSTER=False, K8S_EKS_CLUSTER="team-cluster")
    monkeypatch.setattr(k8s, "load_settings", lambda: eks)
    task = job()
    assert isinstance(task, EksPodOperator)
    assert (task.cluster_name, task.aws_conn_id, task.region) == (
        "team-cluster",
        SETTINGS.AWS_CONN_ID,
        SETTINGS.AWS_REGION,
    )
    assert task.in_cluster is False
    assert built_pod(task)["spec"]["serviceAccountName"] == SETTINGS.K8S_SERVICE_ACCOUNT
    with pytest.raises(k8s.ContainerJobError, match="'my_job': kind='job' needs a Kubernetes"):
        job(kind="job")
