"""The local runtime of `make run-local`: path mapping, command adaptation, the local twins.

Nothing here starts Spark: the commands are checked as data, and the processes run are tiny.
"""

import json
import logging
import sys
from pathlib import Path

import pendulum
import pytest
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG
from kubernetes.client import V1EnvVar
from structlog.testing import capture_logs

from {{ cookiecutter.package }} import emr, settings
from {{ cookiecutter.package }}.emr import Cluster, spark_submit_command
from {{ cookiecutter.package }}.k8s import container_job
from {{ cookiecutter.package }}.local import emr as local_emr
from {{ cookiecutter.package }}.local import k8s as local_k8s
from {{ cookiecutter.package }}.local.paths import local_path, localize
from {{ cookiecutter.package }}.local.process import LocalProcess, LocalRunError

from tests import test_dag_validation as validation
from tests.conftest import APPS_DIR, CLUSTER_CONFIG
{% raw %}
ROOT = Path("/repo/.local-data")
SCRIPT = "s3://deploy/local/local/my_app/count.py"
JOB = {
    "SparkArgs": {"--deploy-mode": "cluster", "--conf": ["spark.a=1", "spark.b=s3://logs/x"]},
    "ScriptPath": SCRIPT,
    "JobParams": {"--date": "2026-01-31", "--input_path": "s3://data/landing/events/2026-01-31"},
}
# The fields that carry what a task runs; they must be the same locally and in production.
WORK_FIELDS = ("job_flow_overrides", "steps", "image", "cmds", "arguments", "env_vars")
PRODUCTION_TYPES = {"EksPodOperator": KubernetesPodOperator}


# --- environments ---------------------------------------------------------------------------


@pytest.mark.parametrize("env", settings.environments())
def test_only_the_local_environment_runs_locally(env):
    local = f"{settings.PACKAGE}.local.twins"
    assert settings.load_settings(env).RUNTIME == (local if env == "local" else None)


# --- paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/a/b/2026-01-31", ROOT / "bucket/a/b/2026-01-31"),
        ("s3://bucket", ROOT / "bucket"),
    ],
)
def test_s3_uris_are_folders_under_local_data(uri, expected):
    assert local_path(uri, ROOT) == expected


@pytest.mark.parametrize("uri", ["data/events", "s3://", "file:///data/events", "S3://bucket"])
def test_anything_but_an_s3_uri_is_refused(uri):
    with pytest.raises(ValueError, match="not an S3 URI"):
        local_path(uri, ROOT)


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("s3://bucket/key", "/repo/.local-data/bucket/key"),
        ("spark.eventLog.dir=s3://logs/spark", "spark.eventLog.dir=/repo/.local-data/logs/spark"),
        ("--date", "--date"),
        ("2026-01-31", "2026-01-31"),
        ("notes3://bucket", "notes3://bucket"),
    ],
)
def test_arguments_get_every_s3_location_mapped_and_nothing_else(argument, expected):
    assert localize(argument, ROOT) == expected


@pytest.mark.parametrize(
    "uri", ["s3://bucket/../../etc", "s3://bucket/a/./b", "s3://../x", "a=s3://b/..,s3://c"]
)
def test_no_s3_location_leads_out_of_the_local_data_folder(uri):
    with pytest.raises(ValueError, match="not a plain S3 location"):
        localize(uri, ROOT)
    if uri.startswith("s3://"):
        with pytest.raises(ValueError, match="not a plain S3 location"):
            local_path(uri, ROOT)


# --- spark-submit ---------------------------------------------------------------------------


@pytest.fixture
def jobs(tmp_path, monkeypatch) -> Path:
    """A jobs/ folder with the Spark project of `my_app` and the container job `my_app/score`;
    the local runtime uses it, and ROOT as .local-data/."""
    for module in (local_emr, local_k8s):
        monkeypatch.setattr(module, "JOBS", tmp_path)
        monkeypatch.setattr(module, "LOCAL_DATA", ROOT)
    (tmp_path / "my_app" / "spark").mkdir(parents=True)
    (tmp_path / "my_app" / "spark" / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "my_app" / "score").mkdir()
    (tmp_path / "my_app" / "score" / "Dockerfile").write_text(
        'FROM python:3.11-slim\nENTRYPOINT ["python", "-m", "score"]\n'
    )
    return tmp_path


def test_a_step_runs_its_own_command_on_local_spark_in_the_apps_spark_project(jobs):
    command, project = local_emr.local_spark_submit(spark_submit_command(JOB))

    assert project == jobs / "my_app" / "spark"
    uv_run = command[: command.index("spark-submit")]
    assert uv_run[1:] == ["run", "--locked", "--project", str(project)]
    assert command[len(uv_run) :] == [
        "spark-submit",
        "--master",
        "local[*]",
        "--conf",
        "spark.a=1",
        "--conf",
        "spark.b=/repo/.local-data/logs/x",
        "/repo/.local-data/deploy/local/local/my_app/count.py",
        "--date",
        "2026-01-31",
        "--input_path",
        "/repo/.local-data/data/landing/events/2026-01-31",
    ]


def test_cluster_options_go_and_the_others_stay_in_order(jobs):
    production = [
        "spark-submit",
        "--master",
        "yarn",
        "--verbose",
        "--deploy-mode=cluster",
        "--packages",
        "org.example:lib:1.0",
        SCRIPT,
        "--flag",
    ]
    command, _ = local_emr.local_spark_submit(production)
    assert command[command.index("spark-submit") :] == [
        "spark-submit",
        "--master",
        "local[*]",
        "--verbose",
        "--packages",
        "org.example:lib:1.0",
        "/repo/.local-data/deploy/local/local/my_app/count.py",
        "--flag",
    ]


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (["spark-submit", "--conf"], "--conf has no value"),
        (["spark-submit", "--conf", "a=1"], "without a script"),
        (["hadoop", "jar", "x.jar"], "not a spark-submit command"),
        (["spark-submit", "s3://deploy/local/local/other_app/count.py"], "other_app/spark"),
    ],
)
def test_a_step_that_cannot_run_locally_says_why(jobs, command, error):
    with pytest.raises(LocalRunError, match=error):
        local_emr.local_spark_submit(command)


# --- container jobs -------------------------------------------------------------------------


def test_a_container_job_runs_its_entrypoint_in_its_own_environment(jobs):
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/my_app-score:local"
    arguments = ["--source_path", "s3://data/landing/orders/2026-01-31", "--date", "2026-01-31"]

    command, folder = local_k8s.local_command(image, [], arguments)

    assert folder == jobs / "my_app" / "score"
    uv_run = command[: command.index("python")]
    assert uv_run[1:] == ["run", "--locked", "--no-dev", "--project", str(folder)]
    assert command[len(uv_run) :] == [
        "python",
        "-m",
        "score",
        "--source_path",
        "/repo/.local-data/data/landing/orders/2026-01-31",
        "--date",
        "2026-01-31",
    ]


def test_the_tasks_cmds_replace_the_entrypoint_as_in_kubernetes(jobs):
    command, _ = local_k8s.local_command("my_app-score:local", ["python", "-m", "other"], [])
    assert command[-3:] == ["python", "-m", "other"]


def test_an_image_without_a_job_folder_is_named(jobs):
    with pytest.raises(LocalRunError, match=r"registry/my_app-train:local: no .*my_app/train/"):
        local_k8s.job_folder("registry/my_app-train:local")


@pytest.mark.parametrize(
    "dockerfile",
    ["FROM python:3.11-slim\n", "FROM python:3.11-slim\nENTRYPOINT python -m score\n"],
)
def test_the_entrypoint_must_be_in_exec_form(tmp_path, dockerfile):
    (tmp_path / "Dockerfile").write_text(dockerfile)
    with pytest.raises(LocalRunError, match="ENTRYPOINT in exec form"):
        local_k8s.entrypoint(tmp_path / "Dockerfile")


def test_env_vars_pass_on_as_plain_variables():
    assert local_k8s.environment({"A": "1"}) == {"A": "1"}
    assert local_k8s.environment([V1EnvVar(name="A", value="1"), V1EnvVar(name="B")]) == {"A": "1"}


# --- running a process ----------------------------------------------------------------------


class Probe(LocalProcess):
    log = logging.getLogger("probe")


def test_a_process_output_goes_to_the_task_log(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="probe")
    Probe().run_process([sys.executable, "-c", "print('hello from the job')"], cwd=tmp_path)
    assert "hello from the job" in caplog.messages


def test_a_failing_process_fails_the_task_without_retries(tmp_path):
    with pytest.raises(LocalRunError, match="exited with code 3"):
        Probe().run_process([sys.executable, "-c", "raise SystemExit(3)"], cwd=tmp_path)


def test_a_process_gets_the_tasks_variables_not_the_scheduling_environment(
    tmp_path, caplog, monkeypatch
):
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / ".venv"))
    monkeypatch.setenv("PYTHONPATH", "dags")
    caplog.set_level(logging.INFO, logger="probe")
    show = "import os; print([os.environ.get(k) for k in ('VIRTUAL_ENV', 'PYTHONPATH', 'JOB')])"
    Probe().run_process([sys.executable, "-c", show], cwd=tmp_path, env={"JOB": "on"})
    assert "[None, None, 'on']" in caplog.messages


# --- the DAG: same tasks, same work -----------------------------------------------------------


@pytest.fixture
def build(tmp_path_factory, monkeypatch):
    """`build(env)`: a hybrid DAG (cluster, step, container job) built in environment `env`:
    `local`, the real local.json, or `cloud`, the same settings without the local runtime."""
    local = json.loads((settings.ENVIRONMENTS_DIR / "local.json").read_text())
    environments = tmp_path_factory.mktemp("environments")
    (environments / "local.json").write_text(json.dumps(local))
    (environments / "cloud.json").write_text(json.dumps(local | {"RUNTIME": None}))
    monkeypatch.setattr(settings, "ENVIRONMENTS_DIR", environments)
    app = tmp_path_factory.mktemp("dags") / "my_app"
    (app / "cluster_configs").mkdir(parents=True)
    (app / "job_configs").mkdir()
    (app / "cluster_configs" / "my_cluster.json").write_text(json.dumps(CLUSTER_CONFIG))
    (app / "job_configs" / "count.json").write_text(json.dumps(JOB))

    def in_environment(env: str) -> DAG:
        monkeypatch.setenv(settings.ENVIRONMENT_VARIABLE, env)
        settings.load_settings.cache_clear()
        with DAG("team.my_app", schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
            dag.fileloc = str(app / "my_app_dag.py")
            cluster = Cluster(dag=dag, cluster_name="my_cluster")
            _, counted = cluster.add_step(job_config_file="count.json")
            score = container_job(
                task_id="score",
                image="my_app-score",
                arguments={"--date": "{{ ds }}"},
                env_vars={"MODE": "full"},
                memory="1Gi",
                cpu="1",
            )
            cluster.build_sequential_flow()
            counted >> score
        settings.load_settings.cache_clear()
        return dag

    yield in_environment
    settings.load_settings.cache_clear()


def test_a_local_dag_has_the_production_tasks_each_doing_the_same_work(build):
    production, local = build("cloud"), build("local")

    assert local.task_dict.keys() == production.task_dict.keys()
    for task in local.tasks:
        original = production.get_task(task.task_id)
        # EksPodOperator only adds the sign-in to EKS: locally a plain pod's twin stands in.
        twin_of = PRODUCTION_TYPES.get(type(original).__name__, type(original))
        assert type(task) is not type(original) and isinstance(task, twin_of), task
        assert task.upstream_task_ids == original.upstream_task_ids, task
        assert (task.is_setup, task.is_teardown) == (original.is_setup, original.is_teardown)
        for field in WORK_FIELDS:
            expected = getattr(original, field, None)
            if field == "job_flow_overrides" and expected:  # as in the local environment
                expected = identified_in("local", expected)
            assert getattr(task, field, None) == expected, (task, field)


def identified_in(env: str, request: dict) -> dict:
    """A dev cluster's RunJobFlow `request` with the identity of a cluster of `env`."""
    tags = emr.tag_dict(request["Tags"]) | {emr.ENVIRONMENT_TAG: env}
    name = request["Name"].replace(emr.name_prefix("dev"), emr.name_prefix(env), 1)
    return request | {"Name": name, "Tags": emr.tag_list(tags)}


def test_the_local_step_runs_its_command_and_hands_on_a_step_id(build, jobs, monkeypatch):
    monkeypatch.setattr(local_emr, "uv_run", lambda project, dev: ["echo"])  # no Spark here
    step = build("local").get_task("count")
    with capture_logs() as logs:
        assert step.execute(context={}) == ["local-count"]
    output = [log["event"] for log in logs if log.get("log_level") == "info"]
    assert "spark-submit --master local[*] --conf spark.a=1" in output[-1]


# --- the validation suite -------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_dagbag():
    """Every DAG under apps/, parsed in the local environment."""
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.ENVIRONMENT_VARIABLE, "local")
        settings.load_settings.cache_clear()
        yield DagBag(dag_folder=str(APPS_DIR), safe_mode=False)
    settings.load_settings.cache_clear()


# The DAG validation suite's policies, each run on every DAG file as parsed for local runs.
POLICIES = [
    validation.test_parses_without_errors,
    validation.test_dag_ids_are_namespaced_and_unique,
    validation.test_no_cycles,
    validation.test_owner_retries_and_tags,
    validation.test_every_cluster_is_torn_down,
    validation.test_every_task_has_an_execution_timeout,
    validation.test_clusters_stay_up_between_their_steps,
    validation.test_container_jobs_have_limits_and_templated_images,
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda policy: policy.__name__[5:])
@validation.by_file
def test_the_dag_validation_policies_hold_for_local_runs(local_dagbag, dag_file, policy):
    policy(local_dagbag, dag_file)
{% endraw %}