"""Shared fixtures: the repository layout and a DB-free DagBag of every app."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "dags" / "{{ cookiecutter.package }}"
APPS_DIR = PACKAGE_DIR / "apps"

# The smallest valid cluster config, for tests that build their own apps.
CLUSTER_CONFIG = {
    "ReleaseLabel": "emr-7.12.0",
    "Applications": [{"Name": "Spark"}],
    "Instances": {
        "InstanceGroups": [
            {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}
        ]
    },
    "JobFlowRole": "EMR_EC2_DefaultRole",
    "ServiceRole": "EMR_DefaultRole",
}


@pytest.fixture(scope="session")
def dagbag():
    """Every DAG under apps/, parsed the way the DAG processor does, without a database."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(APPS_DIR), safe_mode=False)
