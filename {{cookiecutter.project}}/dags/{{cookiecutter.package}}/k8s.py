"""Container jobs on Kubernetes with the team's defaults: `container_job(...)`.

One call returns a ready KubernetesPodOperator (or, with `kind="job"`, a KubernetesJobOperator
on the Kubernetes Jobs API) running `<IMAGE_REGISTRY>/<image>:<release>`, the run's release
(release.py): the job runs after the DAG's `release` task and renders the `release` macro.
Defaults come from this environment's settings; any operator keyword overrides them per task.

Importing this module loads the Kubernetes client and the provider's pod operator: a DAG file that
imports it also names `import airflow.providers.cncf.kubernetes.operators.pod` (and, with
`kind="job"`, `...operators.job`), so that Airflow's DAG processor loads them once, not at every
parse (README, "DAG parse cost"). The task is built from the class runtime.py gives for the
operator: make run-local's runtime runs the job as a local process instead (local/k8s.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value
from kubernetes.client import models as k8s
from kubernetes.utils.quantity import parse_quantity

from {{ cookiecutter.package }} import runtime
from {{ cookiecutter.package }}.defaults import ensure_cost_limits, ensure_macros
from {{ cookiecutter.package }}.release import TEMPLATE as IMAGE_TAG
from {{ cookiecutter.package }}.release import release_task
from {{ cookiecutter.package }}.settings import (
    PACKAGE,
    TEAM,
    Settings,
    load_settings,
)

if TYPE_CHECKING:
    from kubernetes.client import CoreV1Api

{% raw %}# One repository name component as Docker spells it: no registry, no tag, no digest.
IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
# Deferred pods wake up this often to fetch their logs, so long jobs still show progress.
LOGGING_INTERVAL_SECONDS = 300
# Kubernetes Jobs: Airflow's retries are the only retries; finished Jobs (and the pods of
# failed ones, kept for debugging) are garbage-collected after a day.
JOB_BACKOFF_LIMIT = 0
JOB_TTL_SECONDS = 24 * 60 * 60
CONNECTION_KEYS = ("in_cluster", "config_file", "kubernetes_conn_id")
TMP = "/tmp"  # noqa: S108 (a mount point for a writable emptyDir, not a temporary file)
# Keywords the provider accepts but that do not do what they seem to.
TRAPS = {
    "resources": "pass memory= and cpu= (resources= is Airflow's, not the container's)",
    "container_resources": "pass memory= and cpu=, and memory_request=/cpu_request= if lower",
    "is_delete_operator_pod": "pass on_finish_action= (is_delete_operator_pod is ignored)",
}


class ContainerJobError(ValueError):
    """A container job that must not run as written; the message names the task and the fix."""


def container_job(
    *,
    task_id: str,
    image: str,
    arguments: Sequence[str] | Mapping[str, str] = (),
    memory: str | None = None,
    cpu: str | None = None,
    memory_request: str | None = None,
    cpu_request: str | None = None,
    kind: Literal["pod", "job"] = "pod",
    timeout: timedelta | None = None,
    **overrides: Any,
) -> KubernetesPodOperator:
    """Run the job image `image` (`<app>-<job>`) in its own pod, with the team's defaults.

    `arguments` is a list, or a mapping such as `{"--date": "{{ ds }}"}` passed as pairs.
    `memory` and `cpu` are the container's limits and, unless `memory_request`/`cpu_request`
    say otherwise, its requests. `timeout` (default: the environment's K8S_JOB_TIMEOUT_SECONDS)
    is both the task's execution_timeout and the pod's activeDeadlineSeconds, so a hung job is
    stopped by Kubernetes even if Airflow loses track of it. Any other keyword goes to the
    operator and wins over the defaults (`namespace=`, `config_file=`, `on_finish_action=`,
    `retries=`, ...);
    `volumes=` and `volume_mounts=` come in addition to the writable /tmp.
    Call it inside `with DAG(...)` (or pass `dag=`).
    """
    for keyword, fix in TRAPS.items():
        if keyword in overrides:
            raise ContainerJobError(f"container_job {task_id!r}: {fix}")
    if kind not in ("pod", "job"):
        raise ContainerJobError(f"container_job {task_id!r}: kind must be 'pod' or 'job'")
    if isinstance(arguments, str):
        raise ContainerJobError(
            f"container_job {task_id!r}: arguments is a list or a mapping, not one string"
        )
    settings = load_settings()
    timeout = timeout or timedelta(seconds=settings.K8S_JOB_TIMEOUT_SECONDS)
    options = (
        team_defaults(settings, kind)
        | {"execution_timeout": timeout, "active_deadline_seconds": int(timeout.total_seconds())}
        | connection(settings, overrides)
        | overrides
    )
    options["volumes"] = [tmp_volume(), *overrides.get("volumes", [])]
    options["volume_mounts"] = [tmp_mount(), *overrides.get("volume_mounts", [])]
    eks = "cluster_name" in options
    if eks and kind != "pod":
        raise ContainerJobError(
            f"container_job {task_id!r}: kind='job' needs a Kubernetes connection; on EKS "
            "through the AWS connection (K8S_EKS_CLUSTER) only pods run: use kind='pod'"
        )
    operator = runtime.operator(provider_operator(kind, eks=eks), settings)(
        task_id=task_id,
        image=image_template(task_id, image, settings),
        arguments=as_list(arguments),
        container_resources=resources(task_id, memory, cpu, memory_request, cpu_request),
        **options,
    )
    if not operator.has_dag():
        raise ContainerJobError(
            f"container_job {task_id!r}: create it inside `with DAG(...)` or pass dag="
        )
    operator.labels = {**identity_labels(operator), **operator.labels}
    ensure_macros(operator.dag)
    ensure_cost_limits(operator.dag, creates_clusters=False)
    release_task(operator.dag) >> operator
    return operator


def provider_operator(kind: str, eks: bool = False) -> type[KubernetesPodOperator]:
    """The provider's operator of `kind`."""
    if eks:
        # Airflow outside the cluster (MWAA): the amazon provider's pod operator signs in to
        # EKS with the AWS connection. It loads boto3, so only such environments import it.
        from airflow.providers.amazon.aws.operators.eks import EksPodOperator

        return EksPodOperator
    if kind == "job":
        # Imported here: only DAG files that run Kubernetes Jobs pre-import the Jobs module.
        from airflow.providers.cncf.kubernetes.operators.job import KubernetesJobOperator

        return KubernetesJobOperator
    return KubernetesPodOperator


def team_defaults(settings: Settings, kind: str) -> dict[str, Any]:
    """The environment's choices and the team's conventions, before per-task overrides."""
    defaults = {
        "namespace": settings.K8S_NAMESPACE,
        "image_pull_secrets": [
            k8s.V1LocalObjectReference(name=name) for name in settings.K8S_IMAGE_PULL_SECRETS
        ],
        "service_account_name": settings.K8S_SERVICE_ACCOUNT,
        "get_logs": True,
        "do_xcom_push": False,
        "on_finish_action": settings.K8S_ON_FINISH_ACTION,
        "startup_timeout_seconds": settings.K8S_STARTUP_TIMEOUT_SECONDS,
        "deferrable": settings.DEFERRABLE,
        "security_context": pod_security_context(),
        "container_security_context": container_security_context(),
    }
    if kind == "job":
        return defaults | {
            "backoff_limit": JOB_BACKOFF_LIMIT,
            "ttl_seconds_after_finished": JOB_TTL_SECONDS,
            "wait_until_job_complete": True,
        }
    return defaults | {"logging_interval": LOGGING_INTERVAL_SECONDS}


def image_template(task_id: str, image: str, settings: Settings) -> str:
    """`<registry>/<image>:<IMAGE_TAG>`: the tag is the run's release, never the code's."""
    if ":" in image or "@" in image:
        raise ContainerJobError(
            f"container_job {task_id!r}: image {image!r} carries a tag or digest; pass the bare "
            f"name: the tag is the deployed release, {IMAGE_TAG}"
        )
    if not IMAGE_NAME.match(image):
        raise ContainerJobError(
            f"container_job {task_id!r}: image {image!r} is not an image name such as "
            f"'<app>-<job>' (lowercase letters, digits, '.', '_', '-'; the registry "
            f"{settings.IMAGE_REGISTRY} is added)"
        )
    return f"{settings.IMAGE_REGISTRY}/{image}:{IMAGE_TAG}"


def as_list(arguments: Sequence[str] | Mapping[str, str]) -> list[str]:
    if isinstance(arguments, Mapping):
        return [item for pair in arguments.items() for item in pair]
    return list(arguments)


def resources(
    task_id: str,
    memory: str | None,
    cpu: str | None,
    memory_request: str | None,
    cpu_request: str | None,
) -> k8s.V1ResourceRequirements:
    """Limits are required; requests equal them unless given (a job is then never throttled
    below what it asked for, nor evicted for using more than it said)."""
    if memory is None or cpu is None:
        raise ContainerJobError(
            f"container_job {task_id!r}: memory= and cpu= are required, "
            'e.g. memory="2Gi", cpu="1" (a job without limits can starve its neighbours)'
        )
    limits = {"memory": memory, "cpu": cpu}
    requests = {"memory": memory_request or memory, "cpu": cpu_request or cpu}
    for name, limit in limits.items():
        try:
            too_high = parse_quantity(requests[name]) > parse_quantity(limit)
        except ValueError as error:
            raise ContainerJobError(
                f"container_job {task_id!r}: {name} is not a Kubernetes quantity: {error}"
            ) from None
        if too_high:
            raise ContainerJobError(
                f"container_job {task_id!r}: {name} request {requests[name]} exceeds "
                f"its limit {limit}"
            )
    return k8s.V1ResourceRequirements(limits=limits, requests=requests)


def connection(settings: Settings, overrides: dict[str, Any]) -> dict[str, Any]:
    """In-cluster, a kube config file, an Airflow connection, or an EKS cluster reached with
    the AWS connection: the hook takes one of them, so overriding any of the first three per
    task replaces the environment's choice entirely."""
    if overrides.keys() & set(CONNECTION_KEYS):
        return {key: overrides.get(key) for key in CONNECTION_KEYS}
    if settings.K8S_EKS_CLUSTER:
        return {
            "cluster_name": settings.K8S_EKS_CLUSTER,
            "aws_conn_id": settings.AWS_CONN_ID,
            "region": settings.AWS_REGION,
        }
    return {
        "in_cluster": settings.K8S_IN_CLUSTER,
        "config_file": settings.K8S_CONFIG_FILE,
        "kubernetes_conn_id": settings.K8S_CONN_ID,
    }


@contextmanager
def kubernetes_api(settings: Settings) -> Iterator[CoreV1Api]:
    """The Kubernetes API as the environment's container jobs reach it (`connection`), for
    tasks that look after the namespace rather than run a job in it."""
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    if not settings.K8S_EKS_CLUSTER:
        connection = {"conn_id": settings.K8S_CONN_ID, "in_cluster": settings.K8S_IN_CLUSTER}
        yield KubernetesHook(**connection, config_file=settings.K8S_CONFIG_FILE).core_v1_client
        return
    from airflow.providers.amazon.aws.hooks.eks import EksHook

    eks = EksHook(aws_conn_id=settings.AWS_CONN_ID, region_name=settings.AWS_REGION)
    with eks.generate_config_file_with_credentials(
        eks_cluster_name=settings.K8S_EKS_CLUSTER, pod_namespace=settings.K8S_NAMESPACE
    ) as (config_file, _):
        yield KubernetesHook(config_file=config_file, in_cluster=False).core_v1_client


def identity_labels(operator: KubernetesPodOperator) -> dict[str, str]:
    """Who runs what, as valid label values: team, project, app, DAG and task.

    Airflow adds `dag_id`, `task_id`, `run_id` and `try_number` to the pod itself at run time;
    these are also on Kubernetes Jobs and filter `kubectl get` by team or app.
    """
    dag_id = operator.dag.dag_id
    labels = {
        "team": TEAM,
        "project": PACKAGE,
        "app": dag_id.removeprefix(f"{PACKAGE}."),
        "dag": dag_id,
        "task": operator.task_id,
    }
    return {key: make_safe_label_value(value) for key, value in labels.items()}


def tmp_volume() -> k8s.V1Volume:
    return k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource())


def tmp_mount() -> k8s.V1VolumeMount:
    return k8s.V1VolumeMount(name="tmp", mount_path=TMP)


def pod_security_context() -> k8s.V1PodSecurityContext:
    """Non-root (the image's USER must be numeric) with the runtime's default seccomp profile."""
    return k8s.V1PodSecurityContext(
        run_as_non_root=True, seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")
    )


def container_security_context() -> k8s.V1SecurityContext:
    """No privilege escalation, no capabilities, a read-only root; /tmp is a writable emptyDir."""
    return k8s.V1SecurityContext(
        allow_privilege_escalation=False,
        capabilities=k8s.V1Capabilities(drop=["ALL"]),
        read_only_root_filesystem=True,
        run_as_non_root=True,
    ){% endraw %}
