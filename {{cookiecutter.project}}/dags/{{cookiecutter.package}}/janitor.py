"""The janitors' rules: a cluster of the team in this environment goes when its DAG run is over
or it is too old; a failed pod of the team goes once it has been kept long enough to debug.

A cluster is the team's in this environment when it carries the tags `emr.Cluster` puts on every
cluster: this package as the team, the environment, a DAG and a run. Any other cluster is left
alone, whoever owns it: another team's, another environment's of this repository, an untagged
one. The janitor DAGs are ops/emr_janitor_dag.py and ops/pod_janitor_dag.py; this module holds
what they decide, so it can be tested on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from {{ cookiecutter.package }}.emr import (
    DAG_TAG,
    ENVIRONMENT_TAG,
    RUN_TAG,
    TEAM_TAG,
    cluster_cost,
    environment_clusters,
    tag_dict,
)
from {{ cookiecutter.package }}.settings import PACKAGE

log = logging.getLogger(__name__)


def sweep(
    emr_client: Any,
    *,
    environment: str,
    run_is_active: Callable[[str, str], bool],
    max_age: timedelta,
    now: datetime,
    dry_run: bool,
) -> list[dict[str, Any]]:
    """Terminate the team's clusters in `environment` whose run is no longer queued or running,
    or that are older than `max_age`; log every decision; return what each cluster terminated
    (or, on a dry run, that would be) cost (`emr.cluster_cost`)."""
    doomed = []
    for cluster in environment_clusters(
        emr_client, {TEAM_TAG: PACKAGE, ENVIRONMENT_TAG: environment}
    ):
        tags = tag_dict(cluster["Tags"])
        dag_id, run_id = tags.get(DAG_TAG), tags.get(RUN_TAG)
        age = now - cluster["Status"]["Timeline"]["CreationDateTime"]
        name = f"{cluster['Id']} ({cluster['Name']}, up {int(age.total_seconds() // 60)} min)"
        if not (dag_id and run_id):
            log.info("Keep %s: no %s/%s tags, not a cluster of a DAG run", name, DAG_TAG, RUN_TAG)
            continue
        if age > max_age:
            reason = f"older than {max_age}"
        elif not run_is_active(dag_id, run_id):
            reason = f"its run {dag_id} {run_id} is no longer queued or running"
        else:
            log.info("Keep %s: its run %s %s is still going", name, dag_id, run_id)
            continue
        cost = cluster_cost(cluster)
        log.warning(
            "%s %s: %s; %s normalized instance hours",
            "Would terminate" if dry_run else "Terminate",
            name,
            reason,
            cost["normalized_instance_hours"],
        )
        doomed.append(cost)
    if doomed and not dry_run:
        emr_client.terminate_job_flows(JobFlowIds=[cost["cluster_id"] for cost in doomed])
    return doomed


def sweep_failed_pods(
    core_v1: Any, *, namespace: str, max_age: timedelta, now: datetime, dry_run: bool
) -> list[str]:
    """Delete the team's failed pods (label `project`) in `namespace` that ended more than
    `max_age` ago; return their names (or, on a dry run, those that would go). Container jobs
    keep a failed pod for debugging (`delete_succeeded_pod`), and Kubernetes never deletes it."""
    failed = core_v1.list_namespaced_pod(
        namespace, label_selector=f"project={PACKAGE}", field_selector="status.phase=Failed"
    ).items
    doomed = []
    for pod in failed:
        name, ended = pod.metadata.name, pod_ended(pod)
        if now - ended <= max_age:
            log.info("Keep failed pod %s: ended %s, kept %s for debugging", name, ended, max_age)
            continue
        verb = "Would delete" if dry_run else "Delete"
        log.warning("%s failed pod %s, ended %s", verb, name, ended)
        if not dry_run:
            core_v1.delete_namespaced_pod(name, namespace)
        doomed.append(name)
    return doomed


def pod_ended(pod: Any) -> datetime:
    """When a finished pod's last container ended (or, lacking that, when it started)."""
    ends = [
        status.state.terminated.finished_at
        for status in pod.status.container_statuses or []
        if status.state and status.state.terminated and status.state.terminated.finished_at
    ]
    return max(ends, default=pod.status.start_time or pod.metadata.creation_timestamp)
