"""End to end: a real DAG file built with `Cluster`, run by `dag.test()` against moto's EMR.

moto runs the EMR API but never finishes a step by itself: `steps_end` makes each submitted
step end COMPLETED or FAILED in moto's backend. Deferrable waiting needs a triggerer and does
not work under moto, so these runs wait by poking.
"""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import boto3
import pendulum
import pytest
from moto import mock_aws
from moto.emr.models import Cluster as MotoCluster

from {{ cookiecutter.package }} import emr
from {{ cookiecutter.package }}.release import MANIFEST, TEMPLATE, VARIABLE
from {{ cookiecutter.package }}.settings import PACKAGE, TEAM, load_settings
{% raw %}
APP = "emr_e2e"
RELEASE = "0123abcd"
LOGICAL_DATE = pendulum.datetime(2026, 1, 31, tz="UTC")

DAG_FILE = '''
"""A Spark step with a plugged upstream task; no user_defined_macros, on purpose."""

import pendulum
from airflow.sdk import DAG, task

from {package}.defaults import DEFAULT_ARGS, TAGS, app_dag_id
from {package}.emr import Cluster

with DAG(
    dag_id=app_dag_id(__file__),
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    default_args=DEFAULT_ARGS,
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
    "JobFlowRole": "EMR_EC2_DefaultRole",
    "ServiceRole": "EMR_DefaultRole",
    "VisibleToAllUsers": True,
    "Tags": [{"Key": "cost-center", "Value": "42"}],
}


@pytest.fixture(scope="session")
def dags_folder() -> Path:
    """A migrated throwaway Airflow metadata DB (dag.test() needs one), and its DAGs folder."""
    home = os.environ.get("AIRFLOW_HOME")
    if not home:
        pytest.fail("set AIRFLOW_HOME to a throwaway folder (tox -e dags does)")
    env = os.environ | {"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    migrate = [sys.executable, "-m", "airflow", "db", "migrate"]
    subprocess.run(migrate, env=env, check=True, capture_output=True)
    from airflow.configuration import conf

    return Path(conf.get("core", "dags_folder"))


@pytest.fixture
def dag(dags_folder, monkeypatch):
    """The e2e app, written into the DAGs folder and parsed as the DAG processor does."""
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch.setattr(emr, "load_settings", lambda: replace(load_settings(), DEFERRABLE=False))
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
def emr_client(monkeypatch):
    """moto's EMR, with Airflow's AWS connection, and a release deployed (its manifest in
    the deployment bucket) and live (the Variable the deploy sets)."""
    settings = load_settings()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv(f"AIRFLOW_CONN_{settings.AWS_CONN_ID.upper()}", '{"conn_type": "aws"}')
    monkeypatch.setenv(f"AIRFLOW_VAR_{VARIABLE.upper()}", RELEASE)
    with mock_aws():
        s3 = boto3.client("s3", region_name=settings.AWS_REGION)
        bucket, _, prefix = settings.DEPLOYMENT_BUCKET.removeprefix("s3://").partition("/")
        location = {"LocationConstraint": settings.AWS_REGION}
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=location)
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{RELEASE}/{MANIFEST}", Body=b"{}")
        yield boto3.client("emr", region_name=settings.AWS_REGION)


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


def the_cluster(client) -> dict:
    [summary] = client.list_clusters()["Clusters"]
    return client.describe_cluster(ClusterId=summary["Id"])["Cluster"]


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


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
        "airflow_cluster": "e2e",
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


def test_failed_step_terminates_the_cluster_and_fails_the_run(dag, emr_client, steps_end):
    steps_end("FAILED")
    run = dag.test(logical_date=LOGICAL_DATE)

    assert run.state == "failed", task_states(run)
    states = task_states(run)
    assert states["wait_for_count"] == "failed"
    assert states["terminate_cluster_e2e"] == "success"
    assert the_cluster(emr_client)["Status"]["State"] == "TERMINATED"


def test_failed_plugged_task_still_terminates_the_cluster(dag, emr_client, steps_end):
    steps_end("COMPLETED")
    run = dag.test(logical_date=LOGICAL_DATE, run_conf={"fail_upstream": True})

    assert run.state == "failed", task_states(run)
    states = task_states(run)
    assert states["extract"] == "failed"
    assert states["count"] == states["wait_for_count"] == "upstream_failed"
    assert states["terminate_cluster_e2e"] == "success"
    assert the_cluster(emr_client)["Status"]["State"] == "TERMINATED"
    assert emr_client.list_steps(ClusterId=the_cluster(emr_client)["Id"])["Steps"] == []


def test_cluster_that_fails_to_start_is_still_terminated(dag, emr_client, cluster_fails_to_start):
    run = dag.test(logical_date=LOGICAL_DATE)

    assert run.state == "failed", task_states(run)
    states = task_states(run)
    assert states["wait_for_cluster_e2e"] == "failed"
    assert states["count"] == states["wait_for_count"] == "upstream_failed"
    assert states["terminate_cluster_e2e"] == "success"
{% endraw %}