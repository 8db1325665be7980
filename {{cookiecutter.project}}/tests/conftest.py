"""Shared fixtures: the repository layout and a DB-free DagBag of every app."""

from __future__ import annotations

import json
import shutil
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
}


@pytest.fixture(scope="session")
def dagbag():
    """Every DAG under apps/, parsed the way the DAG processor does, without a database."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(APPS_DIR), safe_mode=False)


# What a team fills in before its first `make infra` (README, "Set up an environment").
STACK_SETTINGS = {
    "dev": {"GITHUB_REPOSITORY": "acme/pipelines", "DAGS_S3_URI": "s3://acme-airflow-dev/dags"},
    "staging": {
        "GITHUB_REPOSITORY": "acme/pipelines",
        "DAGS_S3_URI": "s3://acme-airflow-staging/dags",
    },
}
EKS_OIDC_ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF"


@pytest.fixture
def stack_repo(tmp_path) -> Path:
    """A copy of this repository's deployables and stack template, with the dev and staging
    settings filled in for `make infra` (dev also with an EKS cluster for the IRSA role)."""
    ignore = shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache")
    for folder in ("dags", "jobs", "infra"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=ignore)
    for env, infra in STACK_SETTINGS.items():
        path = tmp_path / PACKAGE_DIR.relative_to(REPO) / "environments" / f"{env}.json"
        settings = json.loads(path.read_text())
        settings["INFRA"] |= infra
        if env == "dev":
            settings["INFRA"]["EKS_OIDC_ISSUER"] = EKS_OIDC_ISSUER
            settings["K8S_SERVICE_ACCOUNT"] = "jobs"
        path.write_text(json.dumps(settings, indent=2))
    return tmp_path
