"""The safety net: every DAG file under apps/ parses cleanly and follows the team's policies.

Each policy is its own test, run per DAG file, so a failure names the file and the DAG.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.providers.amazon.aws.operators.emr import (
    EmrCreateJobFlowOperator,
    EmrTerminateJobFlowOperator,
)
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

from {{ cookiecutter.package }}.configs import load_config
from {{ cookiecutter.package }}.release import TASK_ID as RELEASE_TASK
from {{ cookiecutter.package }}.release import TEMPLATE as RELEASE
from {{ cookiecutter.package }}.release import VARIABLE as RELEASE_VARIABLE
from {{ cookiecutter.package }}.settings import PACKAGE, TEAM
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
def test_container_jobs_have_limits_and_templated_images(dagbag, dag_file):
    for dag in dags_in(dagbag, dag_file):
        for task in (t for t in dag.tasks if isinstance(t, KubernetesPodOperator)):
            where = f"{dag_file}: DAG {dag.dag_id}, task {task.task_id}"
            limits = (task.container_resources and task.container_resources.limits) or {}
            assert {"cpu", "memory"} <= set(limits), f"{where}: set cpu and memory limits"
            assert task.image.endswith(":" + RELEASE), (
                f"{where}: image {task.image!r} must be tagged {RELEASE} (use k8s.container_job)"
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
