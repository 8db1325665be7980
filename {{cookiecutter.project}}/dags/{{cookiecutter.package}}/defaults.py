"""The team's DAG defaults: owner, retries, tags, DAG ids and the `config` macro."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

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
    """User-defined macros for every DAG; `config` is this environment's settings."""
    return {"config": load_settings()}


def ensure_macros(dag: DAG) -> None:
    """Give `dag` the `config` macro if its author left out `user_defined_macros=macros()`:
    configs and arguments say {{ '{{ config.X }}' }}, which must render (from files, no DB)."""
    if "config" not in (dag.user_defined_macros or {}):
        dag.user_defined_macros = {**macros(), **(dag.user_defined_macros or {})}
