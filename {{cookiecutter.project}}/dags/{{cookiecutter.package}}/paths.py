"""The data-path convention: where each task writes its results, so the next task can read them.

Every task writes under `<DATA_BUCKET>/<package>/<dag_id>/<task_id>/<ds>`: unique per team,
DAG, task and logical date, so reruns overwrite their own output and nothing else. The path is
a Jinja template rendered at run time; pass it to EMR steps (`job_params`) and container jobs
(`arguments`) alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from {{ cookiecutter.package }}.settings import PACKAGE

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator


{% raw %}DATA_PATH = "{{ config.DATA_BUCKET }}/%(package)s/{{ dag.dag_id }}/%(task_id)s/{{ ds }}"{% endraw %}


def data_path(task: str | BaseOperator) -> str:
    """The templated location of `task`'s results (a task id, or the task itself)."""
    task_id = task if isinstance(task, str) else task.task_id
    return DATA_PATH % {"package": PACKAGE, "task_id": task_id}
