"""Shared fixtures: the repository layout and a DB-free DagBag of every app."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "dags" / "{{ cookiecutter.package }}"
APPS_DIR = PACKAGE_DIR / "apps"


@pytest.fixture(scope="session")
def dagbag():
    """Every DAG under apps/, parsed the way the DAG processor does, without a database."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(APPS_DIR), safe_mode=False)
