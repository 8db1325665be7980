"""The janitors: the EMR janitor run by `dag.test()` against moto's EMR, both rules on their own."""

import logging
import shutil
from datetime import datetime, timedelta

import pendulum
import pytest
from kubernetes.client import (
    V1ContainerState,
    V1ContainerStateTerminated,
    V1ContainerStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodList,
    V1PodStatus,
)

from {{ cookiecutter.package }} import emr, janitor
from {{ cookiecutter.package }}.defaults import FAILED_POD_RETENTION
from {{ cookiecutter.package }}.settings import PACKAGE, load_settings

from tests.conftest import CLUSTER_CONFIG, PACKAGE_DIR, assert_no_cluster_up

JANITOR_DAG = PACKAGE_DIR / "ops" / "emr_janitor_dag.py"
JANITOR_ID = f"{PACKAGE}.ops.emr_janitor"


def start_cluster(client, name: str, **tags: str) -> str:
    """A cluster named `name` in dev's prefix, with `tags`."""
    request = CLUSTER_CONFIG | {"Instances": {"KeepJobFlowAliveWhenNoSteps": True}}
    request |= {"Name": emr.name_prefix("dev") + name, "Tags": emr.tag_list(tags)}
    return client.run_job_flow(**request)["JobFlowId"]


def run_tags(dag_id: str, run_id: str) -> dict[str, str]:
    """The tags of a dev cluster of the run `run_id` of `dag_id`."""
    team = {emr.TEAM_TAG: PACKAGE, emr.ENVIRONMENT_TAG: "dev"}
    return team | {emr.DAG_TAG: dag_id, emr.RUN_TAG: run_id}


def ended(costs: list[dict]) -> list[str]:
    """The ids of the clusters the janitor ended, from what it says they cost."""
    return [cost["cluster_id"] for cost in costs]


def state(client, cluster_id: str) -> str:
    return client.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]


@pytest.fixture
def janitor_dag(dags_folder):
    """The janitor DAG file in the DAGs folder, parsed as the DAG processor does."""
    from airflow.dag_processing.dagbag import DagBag

    folder = dags_folder / "ops"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(JANITOR_DAG, folder)
    bag = DagBag(dag_folder=str(folder), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(JANITOR_ID)
    for task in dag.tasks:
        task.retries = 0  # a failure shows at once
    return dag


def test_the_dag_processor_finds_the_janitor_beside_the_apps():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PACKAGE_DIR), safe_mode=False)  # honours .airflowignore
    assert not bag.import_errors, bag.import_errors
    assert JANITOR_ID in bag.dags
    assert bag.dags[JANITOR_ID].schedule == "@hourly"


def test_janitor_terminates_orphans_and_leaves_running_runs_alone(janitor_dag, emr_client):
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    first, second = (pendulum.datetime(2026, 2, day, tz="UTC") for day in (1, 2))
    first_run = DagRun.generate_run_id(
        run_type=DagRunType.MANUAL, logical_date=first, run_after=first
    )
    orphan = start_cluster(emr_client, "orphan", **run_tags(f"{PACKAGE}.gone", "manual__gone"))
    # A cluster of a run that is going: the janitor's own first run, running as it sweeps.
    running = start_cluster(emr_client, "running", **run_tags(JANITOR_ID, first_run))
    foreign = start_cluster(emr_client, "foreign", team="someone_else", environment="dev")
    untraced = start_cluster(emr_client, "untraced", team=PACKAGE, environment="dev")

    janitor_dag.test(logical_date=first, run_after=first)
    assert state(emr_client, orphan) == "TERMINATED"
    assert state(emr_client, running) == "WAITING"

    janitor_dag.test(logical_date=second, run_after=second)  # the first run is over now
    assert state(emr_client, running) == "TERMINATED"

    # Never touched: clusters without the team's run tags.
    assert state(emr_client, foreign) == state(emr_client, untraced) == "WAITING"
    emr_client.terminate_job_flows(JobFlowIds=[foreign, untraced])
    assert_no_cluster_up(emr_client)


def test_a_cluster_older_than_the_maximum_age_goes_even_if_its_run_goes_on(emr_client, caplog):
    cluster = start_cluster(emr_client, "old", **run_tags(f"{PACKAGE}.app", "manual__1"))
    max_age = timedelta(hours=load_settings().EMR_MAX_CLUSTER_AGE_HOURS)
    sweep = {"environment": "dev", "run_is_active": lambda dag_id, run_id: True, "max_age": max_age}

    now = pendulum.now("UTC")
    assert janitor.sweep(emr_client, now=now, dry_run=False, **sweep) == []
    later = now + max_age + timedelta(minutes=1)
    with caplog.at_level(logging.INFO):
        assert ended(janitor.sweep(emr_client, now=later, dry_run=True, **sweep)) == [cluster]
    assert f"Would terminate {cluster}" in caplog.text
    assert state(emr_client, cluster) == "WAITING"  # a dry run terminates nothing

    [cost] = janitor.sweep(emr_client, now=later, dry_run=False, **sweep)
    assert cost["cluster_id"] == cluster
    assert {"normalized_instance_hours", "running_seconds"} <= cost.keys()
    assert state(emr_client, cluster) == "TERMINATED"
    assert_no_cluster_up(emr_client)


def test_dry_run_comes_from_the_settings(janitor_dag, emr_client, monkeypatch):
    orphan = start_cluster(emr_client, "orphan", **run_tags(f"{PACKAGE}.gone", "manual__gone"))
    dry = load_settings().replace(EMR_JANITOR_DRY_RUN=True)
    monkeypatch.setattr("{{ cookiecutter.package }}.settings.load_settings", lambda: dry)

    janitor_dag.test(logical_date=pendulum.datetime(2026, 2, 3, tz="UTC"))
    assert state(emr_client, orphan) == "WAITING"
    emr_client.terminate_job_flows(JobFlowIds=[orphan])
    assert_no_cluster_up(emr_client)


# --- the pod janitor ------------------------------------------------------------------------


class FakeCoreV1:
    """The pods of a namespace, as the Kubernetes API lists and deletes them."""

    def __init__(self, pods: list[V1Pod]) -> None:
        self.pods = pods
        self.deleted: list[str] = []

    def list_namespaced_pod(self, namespace, label_selector, field_selector):
        key, value = label_selector.split("=")
        phase = field_selector.removeprefix("status.phase=")
        return V1PodList(
            items=[
                pod
                for pod in self.pods
                if pod.metadata.labels.get(key) == value and pod.status.phase == phase
            ]
        )

    def delete_namespaced_pod(self, name, namespace) -> None:
        self.deleted.append(name)


def pod(name: str, phase: str, ended: datetime, project: str = PACKAGE) -> V1Pod:
    terminated = V1ContainerStateTerminated(exit_code=1, finished_at=ended)
    status = V1ContainerStatus(
        name="base",
        image="x",
        image_id="x",
        ready=False,
        restart_count=0,
        state=V1ContainerState(terminated=terminated),
    )
    return V1Pod(
        metadata=V1ObjectMeta(name=name, labels={"project": project}),
        status=V1PodStatus(phase=phase, start_time=ended, container_statuses=[status]),
    )


def test_the_pod_janitor_deletes_the_teams_failed_pods_once_kept_long_enough():
    now = pendulum.datetime(2026, 2, 10, tz="UTC")
    core_v1 = FakeCoreV1(
        [
            pod("old-failure", "Failed", now - FAILED_POD_RETENTION - timedelta(hours=1)),
            pod("recent-failure", "Failed", now - timedelta(hours=1)),
            pod("old-success", "Succeeded", now - timedelta(days=30)),
            pod("another-teams", "Failed", now - timedelta(days=30), project="other_team"),
        ]
    )
    sweep = {"namespace": "team", "max_age": FAILED_POD_RETENTION, "now": now}

    assert janitor.sweep_failed_pods(core_v1, dry_run=True, **sweep) == ["old-failure"]
    assert core_v1.deleted == []
    assert janitor.sweep_failed_pods(core_v1, dry_run=False, **sweep) == ["old-failure"]
    assert core_v1.deleted == ["old-failure"]


def test_the_dag_processor_finds_the_pod_janitor_beside_the_apps():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PACKAGE_DIR), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    assert bag.dags[f"{PACKAGE}.ops.pod_janitor"].schedule == "@daily"
