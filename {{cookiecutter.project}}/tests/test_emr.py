"""The EMR flow builder: job config -> spark-submit, and the shape of the flow it builds."""

import json
from datetime import timedelta
from types import SimpleNamespace

import boto3
import pendulum
import pytest
from airflow.sdk import DAG, BaseOperator
from airflow.sdk.exceptions import AirflowFailException
from airflow.task.trigger_rule import TriggerRule
from jinja2 import Template
from moto import mock_aws
from moto.emr.models import emr_backends

from {{ cookiecutter.package }} import settings
from {{ cookiecutter.package }}.configs import ConfigError
from {{ cookiecutter.package }}.defaults import (
    CLUSTER_DAG_MAX_ACTIVE_RUNS,
    DAGRUN_TIMEOUT,
    EMR_POOL,
)
from {{ cookiecutter.package }}.emr import (
    Cluster,
    ClusterReadySensor,
    StepSensor,
    end_clusters,
    spark_submit_command,
)

from tests import test_dag_validation as validation
from tests.conftest import CLUSTER_CONFIG
{% raw %}
# The reference usage: its job config and, for ENV=prod, this bucket and ds, its command line.
SEED_JOB = {
    "SparkArgs": {"--deploy-mode": "cluster", "--packages": "mysql:mysql-connector-java:8.0.11"},
    "ScriptPath": "{{ config.DEPLOYMENT_BUCKET }}/my_app/my_app.py",
    "JobParams": {"--stage": "{{ config.ENV }}", "--execution_date": "{{ ds }}"},
}
SEED_COMMAND = """
spark-submit \\
  --deploy-mode cluster \\
  --packages mysql:mysql-connector-java:8.0.11 \\
  s3://my-deployment-bucket/my_app/my_app.py \\
  --stage prod \\
  --execution_date 2020-12-24
"""
SEED_CONTEXT = {
    "config": SimpleNamespace(ENV="prod", DEPLOYMENT_BUCKET="s3://my-deployment-bucket"),
    "ds": "2020-12-24",
}


def render(arguments: list[str], context: dict) -> list[str]:
    return [Template(argument).render(context) for argument in arguments]


# --- spark_submit_command -------------------------------------------------------------------


def test_seed_job_config_gives_the_seed_command_line():
    command = render(spark_submit_command(SEED_JOB), SEED_CONTEXT)
    assert command == SEED_COMMAND.replace("\\\n", " ").split()


def test_job_params_override_by_name_and_append_the_rest():
    command = spark_submit_command(
        SEED_JOB, {"execution_date": "2021-01-01", "--stage": "dev", "source_path": "s3://in"}
    )
    assert command == [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        "--packages",
        "mysql:mysql-connector-java:8.0.11",
        SEED_JOB["ScriptPath"],
        "--stage",
        "dev",
        "--execution_date",
        "2021-01-01",
        "--source_path",
        "s3://in",
    ]


def test_spark_args_come_before_the_script_and_job_params_after_it_in_order():
    job = {
        "SparkArgs": {
            "--conf": ["spark.a=1", "spark.b=2"],
            "--verbose": True,
            "--supervise": False,
        },
        "ScriptPath": "s3://code/job.py",
        "JobParams": {"zeta": 1, "--alpha": 2.5},
    }
    assert spark_submit_command(job) == [
        "spark-submit",
        "--conf",
        "spark.a=1",
        "--conf",
        "spark.b=2",
        "--verbose",
        "s3://code/job.py",
        "--zeta",
        "1",
        "--alpha",
        "2.5",
    ]


def test_script_alone_is_enough():
    assert spark_submit_command({"ScriptPath": "s3://code/job.py"}) == [
        "spark-submit",
        "s3://code/job.py",
    ]


@pytest.mark.parametrize("job", [{}, {"SparkArgs": {}, "JobParams": {}}, {"ScriptPath": ""}])
def test_missing_script_path_is_an_error(job):
    with pytest.raises(ValueError, match="ScriptPath"):
        spark_submit_command(job)


def test_unsupported_value_is_named():
    with pytest.raises(ValueError, match=r"--when: unsupported value \{"):
        spark_submit_command({"ScriptPath": "s3://x.py"}, {"when": {"day": 1}})


# --- the flow -----------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path):
    """An app folder with a cluster config and job configs; `app.dag()` makes a DAG in it."""
    (tmp_path / "cluster_configs").mkdir()
    (tmp_path / "job_configs").mkdir()
    (tmp_path / "cluster_configs" / "my_cluster.json").write_text(json.dumps(CLUSTER_CONFIG))
    for name in ("my_job", "other_job"):
        (tmp_path / "job_configs" / f"{name}.json").write_text(json.dumps(SEED_JOB))

    def dag(**kwargs) -> DAG:
        new = DAG(
            dag_id="team.my_app",
            schedule=None,
            start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
            **kwargs,
        )
        new.fileloc = str(tmp_path / "my_app_dag.py")
        return new

    return SimpleNamespace(dir=tmp_path, dag=dag)


def upstream_ids(task: BaseOperator) -> set[str]:
    return set(task.upstream_task_ids)


def test_one_step_flow(app):
    dag = app.dag()
    cluster = Cluster(dag=dag, cluster_name="my_cluster")
    add, check = cluster.add_step(job_config_file="my_job.json")
    cluster.build_sequential_flow()

    assert set(dag.task_ids) == {
        "release",
        "create_cluster_my_cluster",
        "wait_for_cluster_my_cluster",
        "my_job",
        "wait_for_my_job",
        "terminate_cluster_my_cluster",
    }
    assert (add.task_id, check.task_id) == ("my_job", "wait_for_my_job")
    assert upstream_ids(cluster.create_task) == {"release"}
    assert upstream_ids(cluster.wait_task) == {"create_cluster_my_cluster"}
    assert upstream_ids(add) == {"wait_for_cluster_my_cluster"}
    assert upstream_ids(check) == {"my_job"}
    assert upstream_ids(cluster.terminate_task) == {
        "create_cluster_my_cluster",
        "wait_for_cluster_my_cluster",
        "wait_for_my_job",
    }


def test_terminate_is_the_teardown_of_the_cluster_setup(app):
    dag = app.dag()
    cluster = Cluster(dag=dag, cluster_name="my_cluster")
    cluster.add_step(job_config_file="my_job.json")
    cluster.build_sequential_flow()

    assert cluster.create_task.is_setup and cluster.wait_task.is_setup
    assert cluster.terminate_task.is_teardown
    assert cluster.terminate_task.trigger_rule == TriggerRule.ALL_DONE_SETUP_SUCCESS
    # Set, it would make terminate's success turn a run with a failed step green.
    assert not cluster.terminate_task.on_failure_fail_dagrun


def test_steps_run_in_the_order_added(app):
    dag = app.dag()
    cluster = Cluster(dag=dag, cluster_name="my_cluster")
    first_add, _ = cluster.add_step(job_config_file="my_job.json")
    second_add, _ = cluster.add_step(job_config_file="other_job.json")
    third_add, third_check = cluster.add_step(job_config_file="my_job.json", job_name="again")
    cluster.build_sequential_flow()

    assert upstream_ids(first_add) == {"wait_for_cluster_my_cluster"}
    assert upstream_ids(second_add) == {"wait_for_my_job"}
    assert upstream_ids(third_add) == {"wait_for_other_job"}
    assert (third_add.task_id, third_check.task_id) == ("again", "wait_for_again")
    assert upstream_ids(cluster.terminate_task) == {
        "create_cluster_my_cluster",
        "wait_for_cluster_my_cluster",
        "wait_for_again",
    }


def test_tasks_plug_in_around_a_step_as_in_the_seed(app):
    with app.dag() as dag:
        some_upstream_task = BaseOperator(task_id="some_upstream_task")
        some_downstream_task = BaseOperator(task_id="some_downstream_task")
        my_cluster = Cluster(dag=dag, cluster_name="my_cluster")
        add_my_job, check_my_job = my_cluster.add_step(
            job_config_file=app.dir / "job_configs" / "my_job.json"
        )
        my_cluster.build_sequential_flow()

        some_upstream_task >> add_my_job
        some_downstream_task >> check_my_job

    assert upstream_ids(add_my_job) == {"wait_for_cluster_my_cluster", "some_upstream_task"}
    assert upstream_ids(check_my_job) == {"my_job", "some_downstream_task"}
    # Termination still waits for the last check, whatever was plugged in.
    assert "wait_for_my_job" in upstream_ids(my_cluster.terminate_task)


def test_two_clusters_in_one_dag_do_not_collide(app):
    (app.dir / "cluster_configs" / "other.json").write_text(json.dumps(CLUSTER_CONFIG))
    dag = app.dag()
    for name, job in (("my_cluster", "my_job"), ("other", "other_job")):
        cluster = Cluster(dag=dag, cluster_name=name)
        cluster.add_step(job_config_file=f"{job}.json")
        cluster.build_sequential_flow()
    assert len(dag.task_ids) == 11  # and one release task for both


def test_step_runs_the_rendered_command_through_command_runner(app):
    dag = app.dag()  # no user_defined_macros: the cluster adds the config macro
    cluster = Cluster(dag=dag, cluster_name="my_cluster")
    add, _ = cluster.add_step(job_config_file="my_job.json", job_params={"config": "s3://c.json"})

    [step] = add.render_template(add.steps, {"ds": "2020-12-24"})
    config = settings.load_settings()
    assert step["Name"] == "my_job"
    assert step["ActionOnFailure"] == "CONTINUE"
    assert step["HadoopJarStep"]["Jar"] == "command-runner.jar"
    assert step["HadoopJarStep"]["Args"] == [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        "--packages",
        "mysql:mysql-connector-java:8.0.11",
        f"{config.DEPLOYMENT_BUCKET}/my_app/my_app.py",
        "--stage",
        config.ENV,
        "--execution_date",
        "2020-12-24",
        "--config",
        "s3://c.json",  # a value ending in .json is data, not a template file to load
    ]


def test_config_macro_is_added_when_the_dag_forgot_it(app):
    dag = app.dag(user_defined_macros={"mine": 42})
    Cluster(dag=dag, cluster_name="my_cluster")
    assert dag.user_defined_macros["mine"] == 42
    assert dag.user_defined_macros["config"] == settings.load_settings()


def test_cluster_request_carries_the_clusters_identity_and_keeps_it_alive(app):
    spoofed = [{"Key": "team", "Value": "another_team"}, {"Key": "environment", "Value": "prod"}]
    config = CLUSTER_CONFIG | {"Tags": [*spoofed, {"Key": "x", "Value": "y"}]}
    (app.dir / "cluster_configs" / "my_cluster.json").write_text(json.dumps(config))
    cluster = Cluster(dag=app.dag(), cluster_name="my_cluster")

    request = cluster.create_task.job_flow_overrides
    # The package and the environment begin the name: the janitor finds the team's by it.
    assert request["Name"] == f"{settings.PACKAGE}/dev/team.my_app.my_cluster"
    assert request["ReleaseLabel"] == "emr-7.12.0"
    assert request["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    tags = {tag["Key"]: tag["Value"] for tag in request["Tags"]}
    assert tags == {
        "team": settings.PACKAGE,  # unique per repository, unlike the owner
        "environment": "dev",
        "x": "y",
        "airflow_dag_id": "team.my_app",
        "airflow_run_id": "{{ run_id }}",
        "airflow_cluster": "my_cluster",
        "for-use-with-amazon-emr-managed-policies": "true",
    }


def test_a_configured_name_keeps_the_prefix(app):
    config = CLUSTER_CONFIG | {"Name": "nightly"}
    (app.dir / "cluster_configs" / "my_cluster.json").write_text(json.dumps(config))
    request = Cluster(dag=app.dag(), cluster_name="my_cluster").create_task.job_flow_overrides
    assert request["Name"] == f"{settings.PACKAGE}/dev/nightly"


def test_a_cluster_dag_runs_one_at_a_time_within_the_team_limits(app):
    cluster = Cluster(dag=app.dag(), cluster_name="my_cluster")
    cluster.add_step(job_config_file="my_job.json")
    assert cluster.dag.max_active_runs == CLUSTER_DAG_MAX_ACTIVE_RUNS
    assert cluster.dag.dagrun_timeout == DAGRUN_TIMEOUT
    assert cluster.create_task.pool == EMR_POOL


def test_a_cluster_dag_ends_its_clusters_when_it_fails_after_its_own_callbacks(app):
    def alert(context):
        pass

    (app.dir / "cluster_configs" / "other.json").write_text(json.dumps(CLUSTER_CONFIG))
    dag = app.dag(on_failure_callback=alert)
    Cluster(dag=dag, cluster_name="my_cluster")
    Cluster(dag=dag, cluster_name="other")  # the callback ends every cluster of the run
    assert dag.on_failure_callback == [alert, end_clusters]


def test_a_dag_keeps_the_limits_it_chose(app):
    dag = app.dag(max_active_runs=3, dagrun_timeout=timedelta(hours=2))
    Cluster(dag=dag, cluster_name="my_cluster")
    assert (dag.max_active_runs, dag.dagrun_timeout) == (3, timedelta(hours=2))


# A hybrid flow: the cluster idles while the container job runs between its two steps.
HYBRID_DAG = """
from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from {package}.defaults import DEFAULT_ARGS
from {package}.emr import Cluster
from {package}.k8s import container_job

with DAG(
    dag_id="team.my_app",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    default_args=DEFAULT_ARGS,
) as dag:
    cluster = Cluster(dag=dag, cluster_name="my_cluster")
    _, first_done = cluster.add_step(job_config_file="my_job.json")
    score = container_job(
        task_id="score", image="my_app-score", memory="1Gi", cpu="1", timeout=timedelta(minutes=30)
    )
    second, _ = cluster.add_step(job_config_file="other_job.json")
    cluster.build_sequential_flow()
    first_done >> score >> second
"""


# DEFAULT_ARGS: 2 retries 5 min apart, so 3 tries of the 30 min job: 3 * 1800 + 2 * 300 s.
@pytest.mark.parametrize(("idle_timeout", "fails"), [(3600, True), (6000, False)])
def test_the_validation_suite_fails_a_cluster_that_idles_out_between_steps(
    app, idle_timeout, fails
):
    from airflow.dag_processing.dagbag import DagBag

    config = CLUSTER_CONFIG | {"AutoTerminationPolicy": {"IdleTimeout": idle_timeout}}
    (app.dir / "cluster_configs" / "my_cluster.json").write_text(json.dumps(config))
    dag_file = app.dir / "my_app_dag.py"
    dag_file.write_text(HYBRID_DAG.format(package=settings.PACKAGE))
    dagbag = DagBag(dag_folder=str(app.dir), safe_mode=False)
    assert not dagbag.import_errors, dagbag.import_errors

    if not fails:
        validation.test_clusters_stay_up_between_their_steps(dagbag, dag_file)
        return
    with pytest.raises(AssertionError) as failure:
        validation.test_clusters_stay_up_between_their_steps(dagbag, dag_file)
    assert (
        "DAG team.my_app, cluster my_cluster, before step other_job: the cluster may idle "
        "6000s while score (3 tries of up to 1800s) run, retry delays included: longer than "
        f"its idle timeout {idle_timeout}s"
    ) in str(failure.value)


def test_the_idle_guard_counts_exponential_backoff_at_its_longest(app):
    from airflow.dag_processing.dagbag import DagBag

    config = CLUSTER_CONFIG | {"AutoTerminationPolicy": {"IdleTimeout": 3600}}
    (app.dir / "cluster_configs" / "my_cluster.json").write_text(json.dumps(config))
    dag_file = app.dir / "my_app_dag.py"
    timeout = "timeout=timedelta(minutes=30)"
    backoff = f"{timeout}, retry_exponential_backoff=2.0"
    dag_file.write_text(HYBRID_DAG.format(package=settings.PACKAGE).replace(timeout, backoff))
    dagbag = DagBag(dag_folder=str(app.dir), safe_mode=False)
    with pytest.raises(AssertionError, match="may idle 7198s"):  # 5400 + (600 - 1) + (1200 - 1)
        validation.test_clusters_stay_up_between_their_steps(dagbag, dag_file)


def test_an_auto_termination_policy_without_idle_timeout_is_refused(app):
    config = CLUSTER_CONFIG | {"AutoTerminationPolicy": {}}
    (app.dir / "cluster_configs" / "my_cluster.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=r"AutoTerminationPolicy: 'IdleTimeout' is a required"):
        Cluster(dag=app.dag(), cluster_name="my_cluster")


def test_a_config_without_an_idle_timeout_gets_the_environments(app):
    cluster = Cluster(dag=app.dag(), cluster_name="my_cluster")
    assert cluster.create_task.job_flow_overrides["AutoTerminationPolicy"] == {
        "IdleTimeout": settings.load_settings().EMR_IDLE_TIMEOUT_SECONDS
    }


def test_a_configured_idle_timeout_wins(app):
    config = CLUSTER_CONFIG | {"AutoTerminationPolicy": {"IdleTimeout": 120}}
    (app.dir / "cluster_configs" / "my_cluster.json").write_text(json.dumps(config))
    cluster = Cluster(dag=app.dag(), cluster_name="my_cluster")
    assert cluster.create_task.job_flow_overrides["AutoTerminationPolicy"] == {"IdleTimeout": 120}


@pytest.mark.parametrize("env", settings.environments())
def test_waiting_is_deferrable_when_the_environment_says_so(app, monkeypatch, env):
    monkeypatch.setenv(settings.ENVIRONMENT_VARIABLE, env)
    settings.load_settings.cache_clear()
    try:
        dag = app.dag()
        cluster = Cluster(dag=dag, cluster_name="my_cluster")
        cluster.add_step(job_config_file="my_job.json")
    finally:
        settings.load_settings.cache_clear()

    deferrable = settings.load_settings(env).DEFERRABLE
    assert isinstance(cluster.wait_task, ClusterReadySensor)
    assert dag.get_task("wait_for_my_job").deferrable is deferrable
    # A cluster comes up in minutes: its wait always pokes in reschedule mode.
    assert not cluster.wait_task.deferrable
    # Submitting and terminating do not wait, so they never hold a triggerer.
    assert not cluster.create_task.deferrable
    assert not dag.get_task("my_job").deferrable
    assert not cluster.terminate_task.deferrable


# --- waiting -------------------------------------------------------------------------------


@pytest.fixture
def emr_cluster(monkeypatch):
    """A cluster with one step in moto's EMR; `set_state` and `set_step_state` move them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    region = settings.load_settings().AWS_REGION
    with mock_aws():
        request = CLUSTER_CONFIG | {"Name": "c", "Instances": {**CLUSTER_CONFIG["Instances"]}}
        request["Instances"]["KeepJobFlowAliveWhenNoSteps"] = True
        cluster_id = boto3.client("emr", region_name=region).run_job_flow(**request)["JobFlowId"]
        step = {"Name": "s", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}
        client = boto3.client("emr", region_name=region)
        [step_id] = client.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step])["StepIds"]
        # Wherever moto keeps it: requests to amazonaws.eu (aws-eusc) land in us-east-1.
        [cluster] = [
            backend.clusters[cluster_id]
            for backend in next(iter(emr_backends.values())).values()
            if cluster_id in backend.clusters
        ]

        def set_state(state: str) -> None:
            cluster.state = state

        def set_step_state(state: str) -> None:
            cluster.steps[0].state = state

        yield SimpleNamespace(
            id=cluster_id,
            step_id=step_id,
            region=region,
            set_state=set_state,
            set_step_state=set_step_state,
        )


def ready_sensor(emr_cluster, deferrable: bool) -> ClusterReadySensor:
    return ClusterReadySensor(
        task_id="wait",
        job_flow_id=emr_cluster.id,
        aws_conn_id=None,
        region_name=emr_cluster.region,
        deferrable=deferrable,
        do_xcom_push=False,
    )


def step_sensor(emr_cluster) -> StepSensor:
    return StepSensor(
        task_id="check",
        job_flow_id=emr_cluster.id,
        step_id=emr_cluster.step_id,
        aws_conn_id=None,
        region_name=emr_cluster.region,
        do_xcom_push=False,
    )


def test_cluster_wait_is_never_deferred(emr_cluster):
    # The provider's deferrable path would wait for the cluster to terminate.
    assert not ready_sensor(emr_cluster, deferrable=True).deferrable


@pytest.mark.parametrize("state", ["FAILED", "CANCELLED"])
def test_step_failed_on_the_triggerer_fails_at_once(emr_cluster, state):
    emr_cluster.set_step_state(state)
    event = {"status": "failure", "message": "Step failed"}
    with pytest.raises(AirflowFailException, match=state):
        step_sensor(emr_cluster).execute_complete(context={}, event=event)


def test_step_completed_on_the_triggerer_ends_the_wait(emr_cluster):
    emr_cluster.set_step_state("COMPLETED")
    step_sensor(emr_cluster).execute_complete(context={}, event={"status": "success"})


@pytest.mark.parametrize("deferrable", [True, False])
def test_wait_ends_at_once_when_the_cluster_is_up(emr_cluster, deferrable):
    emr_cluster.set_state("WAITING")
    ready_sensor(emr_cluster, deferrable).execute(context={})


@pytest.mark.parametrize("deferrable", [True, False])
def test_wait_fails_when_the_cluster_ended(emr_cluster, deferrable):
    emr_cluster.set_state("TERMINATED_WITH_ERRORS")
    # AirflowFailException: no retries, which would only wait on a cluster that is gone.
    with pytest.raises(AirflowFailException, match="TERMINATED_WITH_ERRORS"):
        ready_sensor(emr_cluster, deferrable).execute(context={})


def test_completed_step_ends_the_wait(emr_cluster):
    emr_cluster.set_step_state("COMPLETED")
    step_sensor(emr_cluster).execute(context={})


@pytest.mark.parametrize("state", ["FAILED", "CANCELLED", "INTERRUPTED"])
def test_failed_step_fails_without_retries(emr_cluster, state):
    # Retrying cannot bring the step back; it would only keep the cluster up.
    emr_cluster.set_step_state(state)
    with pytest.raises(AirflowFailException, match=state):
        step_sensor(emr_cluster).execute(context={})


# --- misuse -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda cluster: cluster.build_sequential_flow(), "add_step\\(\\) at least once"),
        (
            lambda cluster: (
                cluster.add_step(job_config_file="my_job.json"),
                cluster.build_sequential_flow(),
                cluster.build_sequential_flow(),
            ),
            "called twice",
        ),
        (
            lambda cluster: (
                cluster.add_step(job_config_file="my_job.json"),
                cluster.build_sequential_flow(),
                cluster.add_step(job_config_file="other_job.json"),
            ),
            "add steps before build_sequential_flow",
        ),
    ],
    ids=["no-steps", "built-twice", "step-after-build"],
)
def test_misuse_is_explained(app, call, message):
    with pytest.raises(ValueError, match=message):
        call(Cluster(dag=app.dag(), cluster_name="my_cluster"))


def test_missing_configs_are_named(app):
    with pytest.raises(ConfigError, match=r"cluster_configs/nope\.json: file not found"):
        Cluster(dag=app.dag(), cluster_name="nope")
    cluster = Cluster(dag=app.dag(), cluster_name="my_cluster")
    with pytest.raises(ConfigError, match=r"job_configs/nope\.json: file not found"):
        cluster.add_step(job_config_file="nope.json")
{% endraw %}