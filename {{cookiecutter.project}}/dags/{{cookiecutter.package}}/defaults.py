"""The team's DAG defaults: owner, retries, cost limits, tags, DAG ids, the `config` and `release`
macros."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from {{ cookiecutter.package }}.release import release
from {{ cookiecutter.package }}.settings import PACKAGE, TEAM, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import DAG, Context

# Cost limits a DAG or task can override: no task and no run goes on for ever, and a DAG that
# creates EMR clusters runs one at a time (a backfill or a bulk clear starts one cluster).
EXECUTION_TIMEOUT = timedelta(hours=2)
DAGRUN_TIMEOUT = timedelta(hours=24)
CLUSTER_DAG_MAX_ACTIVE_RUNS = 1
# Every create-cluster task takes a slot: at most EMR_MAX_CLUSTERS of the team's clusters are
# being started at once. Named after the package, like every name the team's repositories share
# in one Airflow. The deploy creates it (make run-local and the tests too), reading its name here.
EMR_POOL = "{{ cookiecutter.package }}_emr_clusters"
# A container job's failed pod is kept this long for debugging, then the pod janitor deletes it.
FAILED_POD_RETENTION = timedelta(days=3)

DEFAULT_ARGS = {
    "owner": TEAM,
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": EXECUTION_TIMEOUT,
}

TAGS = [TEAM, PACKAGE]

# What the housekeeping DAGs of ops/ share: no catch-up of the runs missed before their first
# deploy, one run at a time, each bounded.
OPS_DAG_ARGS = {
    "start_date": datetime(2026, 1, 1, tzinfo=UTC),
    "catchup": False,
    "max_active_runs": 1,
    "dagrun_timeout": timedelta(minutes=30),
    "default_args": DEFAULT_ARGS | {"execution_timeout": timedelta(minutes=15)},
    "tags": [*TAGS, "ops"],
}


def app_dag_id(dag_file: str) -> str:
    """`<package>.<app>`: namespaced, so team repositories can share one Airflow."""
    return f"{PACKAGE}.{Path(dag_file).parent.name}"


def macros() -> dict:
    """User-defined macros for every DAG: `config` is this environment's settings, `release()`
    the run's release (release.py)."""
    return {"config": load_settings(), "release": release}


def ensure_macros(dag: DAG) -> None:
    """Give `dag` the team's macros if its author left out `user_defined_macros=macros()`:
    configs and arguments say {{ '{{ config.X }}' }} and {{ '{{ release() }}' }}, which must
    render."""
    if not macros().keys() <= (dag.user_defined_macros or {}).keys():
        dag.user_defined_macros = {**macros(), **(dag.user_defined_macros or {})}


def ensure_failure_callback(dag: DAG, callback: Callable[[Context], None]) -> None:
    """Add `callback` to `dag`'s failure callbacks, after its author's own (alerts), once."""
    callbacks = dag.on_failure_callback or []
    callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
    if callback not in callbacks:
        dag.on_failure_callback = [*callbacks, callback]


def ensure_cost_limits(dag: DAG, *, creates_clusters: bool) -> None:
    """Give `dag` the team's DAGRUN_TIMEOUT and, if it creates clusters, one active run at a
    time, unless its author chose otherwise (`max_active_runs` other than Airflow's default)."""
    from airflow.sdk.configuration import conf

    if dag.dagrun_timeout is None:
        dag.dagrun_timeout = DAGRUN_TIMEOUT
    airflow_default = conf.getint("core", "max_active_runs_per_dag")
    if creates_clusters and dag.max_active_runs == airflow_default:
        dag.max_active_runs = CLUSTER_DAG_MAX_ACTIVE_RUNS
