"""End to end: a real DAG file built with `Cluster`, run by `dag.test()` against moto's EMR
(tests/emr_run.py). Retries come at once (retry_delay=0).

Every test ends with no cluster up in moto: no path leaves one behind.
"""

import pytest
from airflow.providers.amazon.aws.hooks.emr import EmrHook
from airflow.providers.amazon.aws.operators import emr as provider_emr
from moto.emr.models import Cluster as MotoCluster

from {{ cookiecutter.package }}.settings import PACKAGE, load_settings

from tests.conftest import RELEASE, assert_no_cluster_up
from tests.emr_run import APP, DAG_ID, end_steps_in, run, task_states, write_app
{% raw %}

@pytest.fixture
def dag(dags_folder, monkeypatch):
    return write_app(dags_folder, monkeypatch)


@pytest.fixture
def steps_end(monkeypatch):
    """`steps_end(state)`: every step submitted to moto ends in `state`."""
    return lambda state: end_steps_in(monkeypatch, state)


@pytest.fixture
def cluster_fails_to_start(monkeypatch):
    """Make moto's new clusters end in TERMINATED_WITH_ERRORS instead of starting."""

    def bootstrap_fails(cluster) -> None:
        cluster.state = "TERMINATED_WITH_ERRORS"

    monkeypatch.setattr(MotoCluster, "run_bootstrap_actions", bootstrap_fails)


@pytest.fixture
def fails_once(monkeypatch):
    """Make `owner.name` run for real, then raise, the first time it is called."""

    def patch(owner, name: str) -> None:
        real = getattr(owner, name)
        calls = []

        def once(*args, **kwargs):
            result = real(*args, **kwargs)
            calls.append(result)
            if len(calls) == 1:
                raise ConnectionError(f"{name}: connection lost after the call went through")
            return result

        monkeypatch.setattr(owner, name, once)

    return patch


def the_cluster(client) -> dict:
    [summary] = client.list_clusters()["Clusters"]
    return client.describe_cluster(ClusterId=summary["Id"])["Cluster"]


def succeeds_with_a_second_try_of(dag, task_id: str) -> None:
    dag_run = run(dag)
    assert dag_run.state == "success", task_states(dag_run)
    [ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    assert ti.try_number == 2, f"{task_id} ran {ti.try_number} times"


def test_success_creates_the_configured_cluster_runs_the_step_and_terminates(
    dag, emr_client, steps_end
):
    steps_end("COMPLETED")
    dag_run = run(dag)

    assert dag_run.state == "success", task_states(dag_run)
    cluster = the_cluster(emr_client)
    settings = load_settings()
    assert cluster["Status"]["State"] == "TERMINATED"
    assert cluster["Name"] == f"{PACKAGE}/{settings.ENV}/{DAG_ID}.e2e"
    assert cluster["ReleaseLabel"] == "emr-7.12.0"
    assert cluster["LogUri"] == f"{settings.DATA_BUCKET}/emr-logs/"
    assert {app["Name"] for app in cluster["Applications"]} == {"Spark"}
    assert {tag["Key"]: tag["Value"] for tag in cluster["Tags"]} == {
        "cost-center": "42",
        "team": PACKAGE,
        "environment": settings.ENV,
        "airflow_dag_id": DAG_ID,
        "airflow_run_id": dag_run.run_id,
        "airflow_cluster": "e2e",
        "for-use-with-amazon-emr-managed-policies": "true",
        "airflow_try_number": "1",
    }
    groups = emr_client.list_instance_groups(ClusterId=cluster["Id"])["InstanceGroups"]
    assert sorted((g["Name"], g["InstanceType"], g["RequestedInstanceCount"]) for g in groups) == [
        ("core", "m5.2xlarge", 2),
        ("primary", "m5.xlarge", 1),
    ]
    [bootstrap] = emr_client.list_bootstrap_actions(ClusterId=cluster["Id"])["BootstrapActions"]
    assert (bootstrap["Name"], bootstrap["ScriptPath"], bootstrap["Args"]) == (
        "deps",
        "s3://code/install.sh",
        ["-q"],
    )
    [step] = emr_client.list_steps(ClusterId=cluster["Id"])["Steps"]
    assert step["Name"] == "count"
    assert step["Config"]["Jar"] == "command-runner.jar"
    assert step["Config"]["Args"] == [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        "--conf",
        "spark.a=1",
        "--conf",
        "spark.b=2",
        f"{settings.DEPLOYMENT_BUCKET}/{RELEASE}/{APP}/count.py",
        "--stage",
        settings.ENV,
        "--date",
        "2026-01-31",
        "--output_path",
        "s3://out/counts.json",
    ]
    cost = dag_run.get_task_instance("terminate_cluster_e2e").xcom_pull("terminate_cluster_e2e")
    assert cost["cluster_id"] == cluster["Id"]
    assert {"normalized_instance_hours", "running_seconds"} <= cost.keys()
    assert_no_cluster_up(emr_client)


def test_failed_step_terminates_the_cluster_and_fails_the_run(dag, emr_client, steps_end):
    steps_end("FAILED")
    dag_run = run(dag)

    assert dag_run.state == "failed", task_states(dag_run)
    states = task_states(dag_run)
    assert states["wait_for_count"] == "failed"
    assert states["terminate_cluster_e2e"] == "success"
    assert the_cluster(emr_client)["Status"]["State"] == "TERMINATED"
    assert_no_cluster_up(emr_client)


def test_failed_plugged_task_still_terminates_the_cluster(dag, emr_client, steps_end):
    steps_end("COMPLETED")
    dag_run = run(dag, run_conf={"fail_upstream": True})

    assert dag_run.state == "failed", task_states(dag_run)
    states = task_states(dag_run)
    assert states["extract"] == "failed"
    assert states["count"] == states["wait_for_count"] == "upstream_failed"
    assert states["terminate_cluster_e2e"] == "success"
    assert the_cluster(emr_client)["Status"]["State"] == "TERMINATED"
    assert_no_cluster_up(emr_client)
    assert emr_client.list_steps(ClusterId=the_cluster(emr_client)["Id"])["Steps"] == []


def test_cluster_that_fails_to_start_is_still_terminated(dag, emr_client, cluster_fails_to_start):
    dag_run = run(dag)

    assert dag_run.state == "failed", task_states(dag_run)
    states = task_states(dag_run)
    assert states["wait_for_cluster_e2e"] == "failed"
    assert states["count"] == states["wait_for_count"] == "upstream_failed"
    assert states["terminate_cluster_e2e"] == "success"
    assert_no_cluster_up(emr_client)


def test_cluster_that_never_becomes_ready_is_terminated(dag, emr_client, monkeypatch):
    monkeypatch.setattr(MotoCluster, "run_bootstrap_actions", lambda cluster: None)  # STARTING
    dag_run = run(dag)

    assert dag_run.state == "failed", task_states(dag_run)
    states = task_states(dag_run)
    assert states["wait_for_cluster_e2e"] == "failed"
    assert states["terminate_cluster_e2e"] == "success"
    assert emr_client.list_steps(ClusterId=the_cluster(emr_client)["Id"])["Steps"] == []
    assert_no_cluster_up(emr_client)


def test_retried_create_task_adopts_the_cluster_of_its_first_try(
    dag, emr_client, steps_end, fails_once
):
    # RunJobFlow went through, then the provider's DescribeCluster for the log link failed.
    fails_once(provider_emr, "get_log_uri")
    steps_end("COMPLETED")
    succeeds_with_a_second_try_of(dag, "create_cluster_e2e")

    cluster = the_cluster(emr_client)  # exactly one cluster
    assert {tag["Key"]: tag["Value"] for tag in cluster["Tags"]}["airflow_try_number"] == "1"
    assert cluster["Status"]["State"] == "TERMINATED"
    assert_no_cluster_up(emr_client)


def test_retried_add_step_task_does_not_submit_the_step_again(
    dag, emr_client, steps_end, fails_once
):
    fails_once(EmrHook, "add_job_flow_steps")
    steps_end("COMPLETED")
    succeeds_with_a_second_try_of(dag, "count")

    [step] = emr_client.list_steps(ClusterId=the_cluster(emr_client)["Id"])["Steps"]
    assert step["Name"] == "count"
    assert_no_cluster_up(emr_client)


def test_a_create_task_out_of_tries_after_runjobflow_leaves_no_cluster(
    dag, emr_client, monkeypatch
):
    """The teardown does not run when its setup failed: the create task ends its own cluster."""

    def link_fails(**kwargs):
        raise ConnectionError("DescribeCluster for the log link: connection lost")

    monkeypatch.setattr(provider_emr, "get_log_uri", link_fails)
    dag.get_task("create_cluster_e2e").retries = 0  # this try is the last
    dag_run = run(dag)

    assert dag_run.state == "failed", task_states(dag_run)
    states = task_states(dag_run)
    assert states["create_cluster_e2e"] == "failed"
    assert states["terminate_cluster_e2e"] == "upstream_failed"
    assert the_cluster(emr_client)["Status"]["State"] == "TERMINATED"
    assert_no_cluster_up(emr_client)
{% endraw %}