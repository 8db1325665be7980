"""End to end: a real DAG file built with `Cluster`, run by `dag.test()` against moto's EMR.

moto runs the EMR API but never finishes a step by itself: `steps_end` makes each submitted
step end COMPLETED or FAILED in moto's backend. Deferrable waiting needs a triggerer and does
not work under moto, so these runs wait by poking. Retries come at once (retry_delay=0).

Every test ends with no cluster up in moto: no path leaves one behind.
"""

import json
from datetime import timedelta

import boto3
import pendulum
import pytest
from airflow.providers.amazon.aws.hooks.emr import EmrHook
from airflow.providers.amazon.aws.operators import emr as provider_emr
from moto.emr.models import Cluster as MotoCluster

from {{ cookiecutter.package }} import emr
from {{ cookiecutter.package }}.release import TEMPLATE
from {{ cookiecutter.package }}.settings import (
    PACKAGE,
    TEAM,
    load_settings,
)

from scripts.deploy import infra
from tests.conftest import RELEASE, assert_no_cluster_up, iam_client
from tests.iam import (
    ACCOUNT,
    PARTITION,
    Request,
    allows,
    denied,
    managed_policy,
    recorded_calls,
)
{% raw %}
APP = "emr_e2e"
LOGICAL_DATE = pendulum.datetime(2026, 1, 31, tz="UTC")

DAG_FILE = '''
"""A Spark step with a plugged upstream task; no user_defined_macros, on purpose."""

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from {package}.defaults import DEFAULT_ARGS, TAGS, app_dag_id
from {package}.emr import Cluster

with DAG(
    dag_id=app_dag_id(__file__),
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    default_args={{**DEFAULT_ARGS, "retry_delay": timedelta(0)}},
    tags=TAGS,
    params=dict(fail_upstream=False),
) as dag:

    @task(retries=0)
    def extract(params=None):
        if params["fail_upstream"]:
            raise RuntimeError("extract failed")

    cluster = Cluster(dag=dag, cluster_name="e2e")
    add_count, check_count = cluster.add_step(
        job_config_file="count.json", job_params=dict(output_path="s3://out/counts.json")
    )
    cluster.build_sequential_flow()
    extract() >> add_count
'''
JOB = {
    "SparkArgs": {"--deploy-mode": "cluster", "--conf": ["spark.a=1", "spark.b=2"]},
    "ScriptPath": f"{{{{ config.DEPLOYMENT_BUCKET }}}}/{TEMPLATE}/{APP}/count.py",
    "JobParams": {"--stage": "{{ config.ENV }}", "--date": "{{ ds }}"},
}
CLUSTER = {
    "ReleaseLabel": "emr-7.12.0",
    "Applications": [{"Name": "Spark"}],
    "Instances": {
        "InstanceGroups": [
            {
                "Name": "primary",
                "InstanceRole": "MASTER",
                "InstanceType": "m5.xlarge",
                "InstanceCount": 1,
            },
            {
                "Name": "core",
                "InstanceRole": "CORE",
                "InstanceType": "m5.2xlarge",
                "InstanceCount": 2,
            },
        ]
    },
    "BootstrapActions": [
        {"Name": "deps", "ScriptBootstrapAction": {"Path": "s3://code/install.sh", "Args": ["-q"]}}
    ],
    "Configurations": [
        {
            "Classification": "spark-defaults",
            "Properties": {"spark.dynamicAllocation.enabled": "true"},
        }
    ],
    "LogUri": "{{ config.DATA_BUCKET }}/emr-logs/",
    "VisibleToAllUsers": True,
    "Tags": [{"Key": "cost-center", "Value": "42"}],
}


@pytest.fixture
def dag(dags_folder, monkeypatch):
    """The e2e app, written into the DAGs folder and parsed as the DAG processor does."""
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch.setattr(emr, "load_settings", lambda: load_settings().replace(DEFERRABLE=False))
    monkeypatch.setattr(emr, "CLUSTER_POLL", timedelta(seconds=1))
    monkeypatch.setattr(emr, "CLUSTER_MAX_WAIT", timedelta(seconds=3))
    app = dags_folder / APP
    for folder, name, config in (
        ("job_configs", "count", JOB),
        ("cluster_configs", "e2e", CLUSTER),
    ):
        (app / folder).mkdir(parents=True, exist_ok=True)
        (app / folder / f"{name}.json").write_text(json.dumps(config, indent=2))
    (app / f"{APP}_dag.py").write_text(DAG_FILE.format(package=PACKAGE))

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(app), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(f"{PACKAGE}.{APP}")


@pytest.fixture
def steps_end(monkeypatch):
    """Make every step submitted to moto end in `state` (moto leaves them RUNNING forever)."""

    def end_in(state: str) -> None:
        submit = MotoCluster.add_steps

        def add_steps(cluster, steps):
            added = submit(cluster, steps)
            for step in added:
                step.state = state
            return added

        monkeypatch.setattr(MotoCluster, "add_steps", add_steps)

    return end_in


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


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def succeeds_with_a_second_try_of(dag, task_id: str) -> None:
    run = dag.test(logical_date=LOGICAL_DATE)
    assert run.state == "success", task_states(run)
    [ti] = [ti for ti in run.get_task_instances() if ti.task_id == task_id]
    assert ti.try_number == 2, f"{task_id} ran {ti.try_number} times"


def test_success_creates_the_configured_cluster_runs_the_step_and_terminates(
    dag, emr_client, steps_end
):
    steps_end("COMPLETED")
    run = dag.test(logical_date=LOGICAL_DATE)

    assert run.state == "success", task_states(run)
    cluster = the_cluster(emr_client)
    settings = load_settings()
    assert cluster["Status"]["State"] == "TERMINATED"
    assert cluster["Name"] == f"{PACKAGE}.{APP}.e2e"
    assert cluster["ReleaseLabel"] == "emr-7.12.0"
    assert cluster["LogUri"] == f"{settings.DATA_BUCKET}/emr-logs/"
    assert {app["Name"] for app in cluster["Applications"]} == {"Spark"}
    assert {tag["Key"]: tag["Value"] for tag in cluster["Tags"]} == {
        "cost-center": "42",
        "team": TEAM,
        "airflow_dag_id": dag.dag_id,
        "airflow_run_id": run.run_id,
        "airflow_cluster": "e2e",
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
    assert_no_cluster_up(emr_client)


def test_failed_step_terminates_the_cluster_and_fails_the_run(dag, emr_client, steps_end):
    steps_end("FAILED")
    run = dag.test(logical_date=LOGICAL_DATE)

    assert run.state == "failed", task_states(run)
    states = task_states(run)
    assert states["wait_for_count"] == "failed"
    assert states["terminate_cluster_e2e"] == "success"
    assert the_cluster(emr_client)["Status"]["State"] == "TERMINATED"
    assert_no_cluster_up(emr_client)


def test_failed_plugged_task_still_terminates_the_cluster(dag, emr_client, steps_end):
    steps_end("COMPLETED")
    run = dag.test(logical_date=LOGICAL_DATE, run_conf={"fail_upstream": True})

    assert run.state == "failed", task_states(run)
    states = task_states(run)
    assert states["extract"] == "failed"
    assert states["count"] == states["wait_for_count"] == "upstream_failed"
    assert states["terminate_cluster_e2e"] == "success"
    assert the_cluster(emr_client)["Status"]["State"] == "TERMINATED"
    assert_no_cluster_up(emr_client)
    assert emr_client.list_steps(ClusterId=the_cluster(emr_client)["Id"])["Steps"] == []


def test_cluster_that_fails_to_start_is_still_terminated(dag, emr_client, cluster_fails_to_start):
    run = dag.test(logical_date=LOGICAL_DATE)

    assert run.state == "failed", task_states(run)
    states = task_states(run)
    assert states["wait_for_cluster_e2e"] == "failed"
    assert states["count"] == states["wait_for_count"] == "upstream_failed"
    assert states["terminate_cluster_e2e"] == "success"
    assert_no_cluster_up(emr_client)


def test_cluster_that_never_becomes_ready_is_terminated(dag, emr_client, monkeypatch):
    monkeypatch.setattr(MotoCluster, "run_bootstrap_actions", lambda cluster: None)  # STARTING
    run = dag.test(logical_date=LOGICAL_DATE)

    assert run.state == "failed", task_states(run)
    states = task_states(run)
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


def test_teardown_terminates_every_cluster_of_the_run(dag, emr_client, steps_end, monkeypatch):
    """A cluster of this run that the create task did not return (a lost try) goes too."""
    steps_end("COMPLETED")
    create = emr.CreateCluster.execute

    def create_twice(operator, context):
        create(operator, context)  # the lost try's cluster, not in XCom
        return provider_emr.EmrCreateJobFlowOperator.execute(operator, context)

    monkeypatch.setattr(emr.CreateCluster, "execute", create_twice)
    run = dag.test(logical_date=LOGICAL_DATE)

    assert run.state == "success", task_states(run)
    assert len(emr_client.list_clusters()["Clusters"]) == 2
    assert_no_cluster_up(emr_client)


def test_a_run_needs_nothing_the_airflow_runtime_policy_does_not_allow(
    dag, deploy_release, steps_end, stack_repo, monkeypatch
):
    """The stack's runtime policy (infra/aws/environment.yaml) against every AWS call of a run."""
    steps_end("COMPLETED")
    region = load_settings().AWS_REGION
    infra.deploy_stack("dev", boto3.client("cloudformation", region_name=region), stack_repo)
    deploy_release(RELEASE, live=True)  # into the stack's deployment bucket
    emr_client = boto3.client("emr", region_name=region)
    with recorded_calls(monkeypatch) as calls:
        run = dag.test(logical_date=LOGICAL_DATE)
    assert run.state == "success", task_states(run)

    iam = iam_client(region)
    [policy] = [
        policy
        for policy in iam.list_policies(Scope="Local")["Policies"]
        if policy["PolicyName"] == f"{infra.PROJECT}-dev-airflow-runtime"
    ]
    runtime = [managed_policy(iam, policy["Arn"])]
    cluster = the_cluster(emr_client)
    tags = {cluster["Id"]: {tag["Key"]: tag["Value"] for tag in cluster["Tags"]}}
    # The release task checks the release is deployed; the cluster tasks run it.
    assert {call.operation for call in calls} >= {"HeadObject", "RunJobFlow", "AddJobFlowSteps"}
    assert denied(runtime, calls, cluster_tags=tags) == []
    # What the EMR janitor calls, and another team's cluster out of reach.
    assert allows(runtime, Request("elasticmapreduce:ListClusters", "*"))
    other = {"aws:ResourceTag/team": "another-team"}
    arn = f"arn:{PARTITION}:elasticmapreduce:{region}:{ACCOUNT}:cluster/{cluster['Id']}"
    assert not allows(runtime, Request("elasticmapreduce:TerminateJobFlows", arn, other))
    untagged = Request("elasticmapreduce:RunJobFlow", "*", {"aws:RequestTag/team": "another"})
    assert not allows(runtime, untagged)
{% endraw %}