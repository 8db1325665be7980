"""The safety net: every DAG file under apps/ parses cleanly and follows the team's policies.

Each policy is its own test, run per DAG file, so a failure names the file and the DAG.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import json
import math
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.providers.amazon.aws.operators.emr import (
    EmrCreateJobFlowOperator,
    EmrTerminateJobFlowOperator,
)
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import BaseSensorOperator
from airflow.sdk.configuration import conf
from airflow.utils.file import list_py_file_paths
from botocore.session import get_session

from {{ cookiecutter.package }} import emr
from {{ cookiecutter.package }}.configs import load_config
from {{ cookiecutter.package }}.release import TASK_ID as RELEASE_TASK
from {{ cookiecutter.package }}.release import TEMPLATE as RELEASE
from {{ cookiecutter.package }}.release import VARIABLE as RELEASE_VARIABLE
from {{ cookiecutter.package }}.settings import PACKAGE, TEAM

from scripts.deploy.layout import container_jobs, script_key, spark_scripts
from tests.conftest import APPS_DIR, PACKAGE_DIR, REPO

DAG_FILES = sorted(APPS_DIR.glob("*/*_dag.py"))
CONFIG_FILES = sorted(APPS_DIR.glob("*/*_configs/*.json"))
CONFIG_SCHEMAS = {"job_configs": "job_config", "cluster_configs": "cluster_config"}
PARSE_BUDGET_SECONDS = float(os.environ.get("DAG_PARSE_BUDGET_SECONDS", "2"))
APP_FILES = sorted(path for path in APPS_DIR.rglob("*") if path.suffix in (".py", ".json"))

by_file = pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.parent.name)


def dags_in(dagbag, dag_file: Path) -> list:
    dags = [dag for dag in dagbag.dags.values() if Path(dag.fileloc) == dag_file]
    assert dags, f"{dag_file}: defines no DAG"
    return dags


def test_no_import_errors(dagbag):
    errors = "\n\n".join(f"{path}:\n{trace}" for path, trace in dagbag.import_errors.items())
    assert not dagbag.import_errors, f"DAG files failed to import:\n{errors}"


@by_file
def test_parses_without_errors(dagbag, dag_file):
    error = dagbag.import_errors.get(str(dag_file))
    assert error is None, f"{dag_file} failed to import:\n{error}"
    dags_in(dagbag, dag_file)


@by_file
def test_dag_ids_are_namespaced_and_unique(dagbag, dag_file):
    for dag in dags_in(dagbag, dag_file):
        assert dag.dag_id == f"{PACKAGE}.{dag_file.parent.name}", (
            f"{dag_file}: DAG id {dag.dag_id!r} must be {PACKAGE}.{dag_file.parent.name} "
            "(use defaults.app_dag_id(__file__))"
        )
    ids = [dag.dag_id for dag in dagbag.dags.values()]
    assert len(ids) == len(set(ids)), f"duplicate DAG ids: {sorted(ids)}"


@by_file
def test_no_cycles(dagbag, dag_file):
    for dag in dags_in(dagbag, dag_file):
        dag.check_cycle()


@by_file
def test_owner_retries_and_tags(dagbag, dag_file):
    for dag in dags_in(dagbag, dag_file):
        assert TEAM in dag.tags, f"{dag_file}: DAG {dag.dag_id} must be tagged {TEAM!r}"
        for task in dag.tasks:
            where = f"{dag_file}: DAG {dag.dag_id}, task {task.task_id}"
            assert task.owner not in ("", "airflow"), f"{where}: set an owner (DEFAULT_ARGS)"
            assert task.retries >= 1, f"{where}: retries must be >= 1, got {task.retries}"


@by_file
def test_schedule_is_explicit(dag_file):
    calls = [
        node
        for node in ast.walk(ast.parse(dag_file.read_text(), str(dag_file)))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("DAG", "dag")
    ]
    assert calls, f"{dag_file}: no DAG(...) or @dag(...) call found"
    for call in calls:
        keywords = {keyword.arg for keyword in call.keywords}
        assert "schedule" in keywords, f"{dag_file}:{call.lineno}: pass schedule= explicitly"


@by_file
def test_every_cluster_is_torn_down(dagbag, dag_file):
    for dag in dags_in(dagbag, dag_file):
        for create in (t for t in dag.tasks if isinstance(t, EmrCreateJobFlowOperator)):
            teardowns = [
                task
                for task in create.get_flat_relatives(upstream=False)
                if isinstance(task, EmrTerminateJobFlowOperator)
                and task.is_teardown
                and create in task.upstream_list
            ]
            assert create.is_setup and teardowns, (
                f"{dag_file}: DAG {dag.dag_id}: cluster task {create.task_id} needs a setup/"
                "teardown pair with an EmrTerminateJobFlowOperator (use emr.Cluster)"
            )


@by_file
def test_every_task_has_an_execution_timeout(dagbag, dag_file):
    for dag in dags_in(dagbag, dag_file):
        for task in dag.tasks:
            assert task.execution_timeout, (
                f"{dag_file}: DAG {dag.dag_id}, task {task.task_id}: set execution_timeout "
                "(DEFAULT_ARGS has the team's)"
            )


@by_file
def test_clusters_stay_up_between_their_steps(dagbag, dag_file):
    """EMR ends a cluster idle for its IdleTimeout: the tasks that run while the cluster has no
    step (between two steps, or between ready and the first) must fit in it, every try of them
    and the waits between tries included."""
    for dag in dags_in(dagbag, dag_file):
        for create in (t for t in dag.tasks if isinstance(t, emr.CreateCluster)):
            cluster = create.identity[emr.CLUSTER_TAG]
            idle_timeout = create.job_flow_overrides["AutoTerminationPolicy"]["IdleTimeout"]
            for step, stretch in idle_stretches(dag, create):
                where = f"{dag_file}: DAG {dag.dag_id}, cluster {cluster}, before step {step}"
                unbounded = [task.task_id for task in stretch if not longest_try(task)]
                assert not unbounded, f"{where}: set execution_timeout on {', '.join(unbounded)}"
                idle = sum(longest_run(task) for task in stretch)
                tasks = ", ".join(
                    f"{task.task_id} ({task.retries + 1} tries of up to "
                    f"{longest_try(task).total_seconds():.0f}s)"
                    for task in stretch
                )
                assert idle <= idle_timeout, (
                    f"{where}: the cluster may idle {idle:.0f}s while {tasks} run, retry delays "
                    f"included: longer than its idle timeout {idle_timeout}s. Raise "
                    f"AutoTerminationPolicy.IdleTimeout in cluster_configs/{cluster}.json, or "
                    "lower their execution_timeout/timeout, retries or retry_delay"
                )


def idle_stretches(dag, create) -> list[tuple[str, list]]:
    """Per step of the cluster, the other tasks that may run after the cluster last had work
    (ready, or the previous step done) and before the step is added."""
    own = {t.task_id: t for t in dag.tasks if cluster_task(t, create)}
    waits = (emr.ClusterReadySensor, emr.StepSensor)
    done = {task_id for task_id, task in own.items() if isinstance(task, waits)}
    stretches = []
    for add in (t for t in own.values() if isinstance(t, emr.AddStep)):
        before = add.get_flat_relative_ids(upstream=True)
        settled = set()
        for task_id in done & before:
            settled |= {task_id, *dag.get_task(task_id).get_flat_relative_ids(upstream=True)}
        ids = before - settled - own.keys() - {create.task_id}
        stretches.append((add.task_id, [dag.get_task(task_id) for task_id in sorted(ids)]))
    return stretches


def cluster_task(task, create) -> bool:
    return getattr(task, "job_flow_id", None) == emr.cluster_id(create.task_id)


def longest_try(task) -> timedelta | None:
    """How long one try of a task may run: a sensor's timeout (reschedule pokes each have their
    own execution_timeout), otherwise its execution_timeout."""
    if isinstance(task, BaseSensorOperator):
        return timedelta(seconds=task.timeout)
    return task.execution_timeout


def longest_run(task) -> float:
    """Seconds from a task's first try to its last one's end, at worst. A sensor's timeout counts
    from its first try; any other task may run every try to its end, after each retry delay."""
    if isinstance(task, BaseSensorOperator):
        return task.timeout
    delays = sum(longest_retry_delay(task, attempt) for attempt in range(1, task.retries + 1))
    return (task.retries + 1) * task.execution_timeout.total_seconds() + delays


def longest_retry_delay(task, attempt: int) -> float:
    """The longest wait after failed try `attempt`, as Airflow's scheduler computes the wait
    (airflow.models.taskinstance.next_retry_datetime): an exponential backoff adds up to as
    much again as its base, within [core] max_task_retry_delay and the task's max_retry_delay."""
    seconds = task.retry_delay.total_seconds()
    multiplier = task.retry_exponential_backoff or 1
    if multiplier != 1:
        ceiling = conf.getint("core", "max_task_retry_delay", fallback=24 * 60 * 60)
        seconds = min(2 * max(math.ceil(seconds * multiplier ** (attempt - 1)), 1) - 1, ceiling)
    if task.max_retry_delay:
        seconds = min(seconds, task.max_retry_delay.total_seconds())
    return seconds


@by_file
def test_container_jobs_have_limits_and_templated_images(dagbag, dag_file):
    for dag in dags_in(dagbag, dag_file):
        for task in (t for t in dag.tasks if isinstance(t, KubernetesPodOperator)):
            where = f"{dag_file}: DAG {dag.dag_id}, task {task.task_id}"
            limits = (task.container_resources and task.container_resources.limits) or {}
            assert {"cpu", "memory"} <= set(limits), f"{where}: set cpu and memory limits"
            assert task.image.endswith(":" + RELEASE), (
                f"{where}: image {task.image!r} must be tagged {RELEASE} (use k8s.container_job)"
            )


@by_file
def test_every_container_image_is_built_from_a_job(dagbag, dag_file):
    """The deploy builds `<app>-<job>` from jobs/<app>/<job>/Dockerfile, and no other image."""
    built = {job.image for job in container_jobs(REPO)}
    for dag in dags_in(dagbag, dag_file):
        for task in (t for t in dag.tasks if isinstance(t, KubernetesPodOperator)):
            image = task.image.rsplit("/", 1)[-1].partition(":")[0]
            app, _, job = image.partition("-")
            source = f"jobs/{app}/{job}/Dockerfile" if job else f"jobs/<app>/<job>/ ({image})"
            assert image in built, (
                f"{dag_file}: DAG {dag.dag_id}, task {task.task_id}: no {source} builds the "
                f"image {image!r} (images are <app>-<job>; make new-app creates a container job)"
            )


@pytest.mark.parametrize("app_file", APP_FILES, ids=lambda path: str(path.relative_to(APPS_DIR)))
def test_nothing_reads_the_release_variable_directly(app_file):
    assert RELEASE_VARIABLE not in app_file.read_text(), (
        f"{app_file}: reads the Airflow Variable {RELEASE_VARIABLE}, which changes with every "
        f"deploy; write {RELEASE} for the run's release"
    )


@by_file
def test_tasks_using_the_release_run_after_it(dagbag, dag_file):
    for dag in dags_in(dagbag, dag_file):
        for task in dag.tasks:
            fields = " ".join(str(getattr(task, field, "")) for field in task.template_fields)
            if "release(" in fields:
                assert RELEASE_TASK in task.get_flat_relative_ids(upstream=True), (
                    f"{dag_file}: DAG {dag.dag_id}, task {task.task_id} renders {RELEASE} but does "
                    f"not run after the {RELEASE_TASK!r} task (release.release_task(dag) >> task)"
                )


@pytest.mark.parametrize(
    "config_file", CONFIG_FILES, ids=lambda path: path.relative_to(APPS_DIR).as_posix()
)
def test_configs_match_their_schema(config_file):
    load_config(config_file, CONFIG_SCHEMAS[config_file.parent.name])


CLUSTER_CONFIGS = [path for path in CONFIG_FILES if path.parent.name == "cluster_configs"]


def instance_types(value, path: str = "$"):
    """(JSON path, value) of every instance type in a RunJobFlow request: InstanceType of groups
    and fleets, MasterInstanceType, SlaveInstanceType."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("InstanceType") and isinstance(item, str):
                yield f"{path}.{key}", item
            else:
                yield from instance_types(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from instance_types(item, f"{path}[{index}]")


@pytest.fixture(scope="session")
def ec2_instance_types() -> list[str]:
    """Every EC2 instance type botocore knows (its EC2 model, offline)."""
    return get_session().get_service_model("ec2").shape_for("InstanceType").enum


@pytest.mark.parametrize(
    "config_file", CLUSTER_CONFIGS, ids=lambda path: path.relative_to(APPS_DIR).as_posix()
)
def test_cluster_configs_name_ec2_instance_types(config_file, ec2_instance_types):
    for path, instance_type in instance_types(json.loads(config_file.read_text())):
        if "{" in instance_type or instance_type in ec2_instance_types:
            continue  # a Jinja template renders when the task runs
        guess = difflib.get_close_matches(instance_type, ec2_instance_types, n=1)
        raise AssertionError(
            f"{config_file}: {path}: {instance_type!r} is not an EC2 instance type"
            + (f" (did you mean {guess[0]!r}?)" if guess else "")
        )


@by_file
def test_parse_time_within_budget(dagbag, dag_file):
    stats = {Path(stat.file).name: stat.duration.total_seconds() for stat in dagbag.dagbag_stats}
    seconds = stats[dag_file.name]
    assert seconds <= PARSE_BUDGET_SECONDS, (
        f"{dag_file}: parsed in {seconds:.2f}s, budget {PARSE_BUDGET_SECONDS}s "
        "(DAG_PARSE_BUDGET_SECONDS); move heavy work out of module level"
    )


# Parsing in a fresh interpreter where every route to Airflow's metadata database raises.
NO_DB_PARSE = """
import json, sys
import sqlalchemy.engine

def refuse(*args, **kwargs):
    raise RuntimeError("metadata database accessed while parsing DAG files")

sqlalchemy.engine.Engine.connect = refuse
sqlalchemy.engine.Engine.raw_connection = refuse
from airflow.sdk import Connection, Variable
from airflow.models import Variable as ModelVariable
from airflow.sdk import BaseHook
Variable.get = Connection.get = ModelVariable.get = refuse
BaseHook.get_connection = refuse

from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"dags": len(bag.dags), "errors": bag.import_errors}))
"""


def test_no_database_access_while_parsing(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_VAR_", "AIRFLOW_CONN_"))
    }
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{tmp_path}/missing/dir/airflow.db"
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_DIR.parent), str(REPO)])
    command = [sys.executable, "-c", NO_DB_PARSE, str(APPS_DIR)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr[-5000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    errors = "\n\n".join(f"{path}:\n{trace}" for path, trace in parsed["errors"].items())
    assert not parsed["errors"], f"DAG files touch the metadata database at parse time:\n{errors}"
    assert parsed["dags"] == len(DAG_FILES)


# --- the repository layout: apps, DAG files, jobs and deployed scripts agree ----------------------

APP_DIRS = sorted(p for p in APPS_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
JOB_DIRS = sorted(path for path in (REPO / "jobs").iterdir() if path.is_dir())
JOB_CONFIGS = sorted(APPS_DIR.glob("*/job_configs/*.json"))
# `<deployment bucket>/<release>/<key>`: where scripts/deploy/artifacts.py uploads each script.
{% raw %}DEPLOYED_SCRIPT = re.compile(r"^\{\{ *config\.DEPLOYMENT_BUCKET *\}\}/[^/]+/(?P<key>.+)$"){% endraw %}


def builds_a_dag(path: Path) -> bool:
    """Named as a DAG file, or calling DAG(...) or dag(...), the @dag decorator included."""
    if path.name.endswith("_dag.py"):
        return True
    try:
        nodes = list(ast.walk(ast.parse(path.read_text(), str(path))))
    except SyntaxError:
        return False  # not Python Airflow could import: test_no_import_errors names it
    callees = [node.func for node in nodes if isinstance(node, ast.Call)]
    decorators = [name for node in nodes for name in getattr(node, "decorator_list", [])]
    names = {getattr(name, "id", getattr(name, "attr", None)) for name in callees + decorators}
    return bool(names & {"DAG", "dag"})


DAGS_DIR = PACKAGE_DIR.parent
PYTHON_FILES = [path for path in sorted(DAGS_DIR.rglob("*.py")) if "__pycache__" not in path.parts]
DAG_SOURCES = [path for path in PYTHON_FILES if builds_a_dag(path)]


@functools.cache
def parsed_by_airflow() -> set[Path]:
    """The package's files Airflow's DAG processor parses (its .airflowignore applied)."""
    return {Path(path) for path in list_py_file_paths(PACKAGE_DIR, safe_mode=False)}


@pytest.mark.parametrize("dag_file", DAG_SOURCES, ids=lambda path: str(path.relative_to(DAGS_DIR)))
def test_every_dag_file_is_an_app_or_ops_dag_that_airflow_parses(dag_file):
    """Airflow parses the package's apps/<app>/<app>_dag.py and ops/*_dag.py (its .airflowignore,
    read by Airflow's own matcher): a DAG file elsewhere in the package never runs, and one
    outside the package runs unchecked from a Git DAG bundle, or not at all from S3."""
    where = dag_file.relative_to(REPO)
    assert dag_file.is_relative_to(PACKAGE_DIR), (
        f"{where}: a DAG file outside dags/{PACKAGE}/: a Git DAG bundle parses it unchecked by "
        f"these tests and an S3 deploy leaves it out; make it an app (make new-app)"
    )
    assert dag_file.parent != APPS_DIR, (
        f"{where}: a DAG file directly in apps/, which Airflow skips (.airflowignore): an app is "
        f"a folder, apps/<app>/<app>_dag.py (make new-app)"
    )
    assert dag_file in parsed_by_airflow(), (
        f"{where}: a DAG file Airflow skips: it parses apps/<app>/<app>_dag.py and ops/*_dag.py "
        f"only (.airflowignore); make it an app (make new-app) or a housekeeping DAG in ops/"
    )


@pytest.mark.parametrize("app_dir", APP_DIRS, ids=lambda path: path.name)
def test_each_app_folder_holds_its_own_dag_file(app_dir):
    dag_files = sorted(path.name for path in app_dir.glob("*_dag.py"))
    assert dag_files == [f"{app_dir.name}_dag.py"], (
        f"{app_dir}: an app folder holds exactly one DAG file, {app_dir.name}_dag.py "
        f"(found {dag_files}); the folder name is the app's name and its DAG id"
    )


@pytest.mark.parametrize("job_dir", JOB_DIRS, ids=lambda path: path.name)
def test_each_job_folder_belongs_to_an_app(job_dir):
    assert (APPS_DIR / job_dir.name).is_dir(), (
        f"{job_dir}: no app dags/{PACKAGE}/apps/{job_dir.name}/ runs these jobs "
        "(was the app renamed? rename both folders)"
    )


@pytest.mark.parametrize(
    "config_file", JOB_CONFIGS, ids=lambda path: path.relative_to(APPS_DIR).as_posix()
)
def test_script_path_is_a_deployed_script_of_the_app(config_file):
    app = config_file.parent.parent.name
    scripts = sorted(script_key(path) for path in spark_scripts(REPO) if path.parts[-3] == app)
    script_path = json.loads(config_file.read_text()).get("ScriptPath", "")
    match = DEPLOYED_SCRIPT.match(script_path)
    assert match and match["key"] in scripts, (
        f"{config_file}: ScriptPath {script_path!r} must name a script of jobs/{app}/spark/ as "
        f"deployed: <deployment bucket>/<release>/<one of {scripts}>"
    )


class ArgumentError(ValueError):
    """What argparse would print before exiting."""


class ScriptArguments(argparse.ArgumentParser):
    def error(self, message: str):
        raise ArgumentError(message)


def script_parser(script: Path) -> ScriptArguments | None:
    """The script's argument parser, rebuilt from its literal add_argument calls (never imported:
    Spark scripts need Spark); None when a call is not literal enough to rebuild."""
    parser = ScriptArguments(add_help=False)
    for node in ast.walk(ast.parse(script.read_text(), str(script))):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"):
            continue
        try:
            names = [ast.literal_eval(arg) for arg in node.args]
            options = {
                keyword.arg: ast.literal_eval(keyword.value)
                for keyword in node.keywords
                if keyword.arg in ("required", "action", "nargs", "choices", "dest")
            }
        except ValueError:
            return None
        parser.add_argument(*names, **options)
    return parser


def spark_steps(dag):
    """(task, script, arguments) of every spark-submit step the DAG submits to EMR."""
    for task in dag.tasks:
        for step in getattr(task, "steps", None) or []:
            if not isinstance(step, dict):
                continue
            args = [str(arg) for arg in step.get("HadoopJarStep", {}).get("Args", [])]
            scripts = [index for index, arg in enumerate(args) if DEPLOYED_SCRIPT.match(arg)]
            if args[:1] == ["spark-submit"] and scripts:
                app, name = DEPLOYED_SCRIPT.match(args[scripts[0]])["key"].split("/", 1)
                yield task, REPO / "jobs" / app / "spark" / name, args[scripts[0] + 1 :]


@by_file
def test_spark_steps_pass_arguments_their_script_accepts(dagbag, dag_file):
    for dag in dags_in(dagbag, dag_file):
        for task, script, arguments in spark_steps(dag):
            parser = script_parser(script) if script.is_file() else None
            if parser is None:
                continue
            try:
                parser.parse_args(arguments)
            except ArgumentError as error:
                raise AssertionError(
                    f"{dag_file}: task {task.task_id} runs {script.relative_to(REPO)} with "
                    f"{arguments}, which its argument parser refuses: {error}"
                ) from None
