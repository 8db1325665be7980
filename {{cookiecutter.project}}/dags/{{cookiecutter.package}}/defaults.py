"""The team's DAG defaults: owner, retries, tags, DAG ids, the `config` and `release` macros."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from {{ cookiecutter.package }}.release import release
from {{ cookiecutter.package }}.settings import PACKAGE, TEAM, load_settings

if TYPE_CHECKING:
    from airflow.sdk import DAG

DEFAULT_ARGS = {
    "owner": TEAM,
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
}

TAGS = [TEAM, PACKAGE]


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
