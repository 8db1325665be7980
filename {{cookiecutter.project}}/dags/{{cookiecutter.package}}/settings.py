"""Per-environment settings, read from `environments/<env>.json` without touching Airflow's DB.

The environment comes from the `{{ cookiecutter.__package_env }}` environment variable of the
Airflow components. Unset is an error, not a default: a production Airflow that forgot it must
not quietly run against another environment's buckets. The settings object is also the `config`
macro of every DAG, so configs can say `{{ '{{ config.DATA_BUCKET }}' }}`.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from {{ cookiecutter.package }}.configs import load_config

PACKAGE = "{{ cookiecutter.package }}"
TEAM = "{{ cookiecutter.owner }}"
ENVIRONMENT_VARIABLE = "{{ cookiecutter.__package_env }}"
ENVIRONMENTS_DIR = Path(__file__).parent / "environments"


class Settings(SimpleNamespace):
    """One environment. Upper-case names, as the configs' `{{ '{{ config.NAME }}' }}` spell them.
    A plain class, not a NamedTuple or a dataclass: the DAG processor imports this module at
    every parse of every DAG file, and defining those took 1 ms and 1.7 ms there (this: 0.1)."""

    SETTINGS_VERSION: int  # the file's layout (scripts/migrate_settings.py)
    ENV: str
    AWS_REGION: str
    AWS_CONN_ID: str
    DEPLOYMENT_BUCKET: str
    DATA_BUCKET: str
    IMAGE_REGISTRY: str
    DEFERRABLE: bool
    K8S_NAMESPACE: str
    K8S_IN_CLUSTER: bool
    K8S_CONFIG_FILE: str | None
    K8S_CONN_ID: str | None
    K8S_IMAGE_PULL_SECRETS: tuple[str, ...]
    K8S_SERVICE_ACCOUNT: str
    K8S_ON_FINISH_ACTION: str
    K8S_STARTUP_TIMEOUT_SECONDS: int
    EMR_IDLE_TIMEOUT_SECONDS: int
    EMR_MAX_CLUSTERS: int
    EMR_MAX_CLUSTER_AGE_HOURS: int
    EMR_JANITOR_DRY_RUN: bool
    K8S_JOB_TIMEOUT_SECONDS: int
    # The namespace's footing, rendered by `make k8s-manifests` (scripts/k8s_manifests.py).
    K8S_VERSION: str
    K8S_SERVICE_ACCOUNT_ROLE_ARN: str | None
    K8S_AIRFLOW_SUBJECTS: list[dict[str, str]]
    K8S_EKS_CLUSTER: str | None
    K8S_QUOTA: dict[str, str]
    K8S_CONTAINER_LIMITS: dict[str, dict[str, str]]
    IMAGE_PLATFORM: str
    # Applied by emr.Cluster to every cluster; the stack of `make infra` creates the roles.
    EMR_SERVICE_ROLE: str
    EMR_INSTANCE_PROFILE: str
    EMR_SUBNET_IDS: tuple[str, ...]
    EMR_SECURITY_GROUPS: dict[str, Any]
    EMR_SECURITY_CONFIGURATION: str | None
    # A module of operator twins that replace production's (runtime.py); none: production's.
    RUNTIME: str | None = None
    # What `make infra` and the deploy read (the AWS stack, the DAGs folder, MWAA); none: local.
    INFRA: dict[str, Any] | None = None

    def replace(self, **changes: Any) -> Settings:
        """These settings with `changes`."""
        return Settings(**(vars(self) | changes))


def environments() -> list[str]:
    return sorted(path.stem for path in ENVIRONMENTS_DIR.glob("*.json"))


@cache
def load_settings(env: str | None = None) -> Settings:
    """The settings of `env`, by default of the environment this process runs in."""
    env = env or os.environ.get(ENVIRONMENT_VARIABLE)
    if not env:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE} is not set: set it on every Airflow component to one of "
            f"{', '.join(environments())} (see the README, 'Which environment Airflow runs')"
        )
    if env not in environments():
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={env!r} names no file of {ENVIRONMENTS_DIR}; "
            f"known environments: {', '.join(environments())}"
        )
    values = load_config(ENVIRONMENTS_DIR / f"{env}.json", "environment")
    for key in ("K8S_IMAGE_PULL_SECRETS", "EMR_SUBNET_IDS"):
        values[key] = tuple(values[key])
    return Settings(**values)
