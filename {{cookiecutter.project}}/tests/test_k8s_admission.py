"""Every container task of every app would be admitted by every cloud environment's namespace.

The pods are built by the provider, as a worker of each environment builds them (from that
environment's settings), and checked offline against what `make k8s-manifests` applies there:
a job asking for more than the LimitRange allows fails here, naming the task, instead of
hanging unschedulable in production.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

from {{ cookiecutter.package }}.k8s import container_job
from {{ cookiecutter.package }}.settings import (
    ENVIRONMENT_VARIABLE,
    Settings,
    environments,
    load_settings,
)

from tests.conftest import APPS_DIR
from tests.k8s_objects import admission_problems, built_pod

CLOUD = [load_settings(env) for env in environments() if load_settings(env).RUNTIME is None]


def built_pods(settings: Settings) -> list[tuple[KubernetesPodOperator, dict]]:
    """Each container task with its pod (a Kubernetes Job's pod template is the same pod), as
    the environment of `settings` builds it, from a DagBag of its own: rendering changes the
    tasks in place."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENVIRONMENT_VARIABLE, settings.ENV)
        load_settings.cache_clear()
        try:
            dagbag = DagBag(dag_folder=str(APPS_DIR), safe_mode=False)
            assert not dagbag.import_errors, dagbag.import_errors
            return [
                (task, built_pod(task))
                for dag in dagbag.dags.values()
                for task in dag.tasks
                if isinstance(task, KubernetesPodOperator)
            ]
        finally:
            load_settings.cache_clear()


@pytest.mark.parametrize("settings", CLOUD, ids=lambda settings: settings.ENV)
def test_every_container_task_fits_its_namespace(settings):
    problems = [
        problem
        for task, pod in built_pods(settings)
        for problem in admission_problems(task, pod, settings)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("memory", "cpu", "message"),
    [
        ("64Gi", "1", "memory 64Gi exceeds the LimitRange max"),
        ("1Gi", "100", "cpu 100 exceeds the LimitRange max"),
    ],
)
def test_a_job_asking_too_much_is_named(memory, cpu, message):
    with DAG("too_big", schedule=None, start_date=datetime(2026, 1, 1)):
        task = container_job(task_id="huge", image="app-huge", memory=memory, cpu=cpu)
    problems = admission_problems(task, built_pod(task), CLOUD[0])
    assert problems
    assert all(p.startswith(f"too_big: task 'huge' in {CLOUD[0].ENV}: ") for p in problems)
    assert any(message in problem for problem in problems)
