"""The data-path convention: where tasks read and write in the environment's `DATA_BUCKET`.

- `landing/<dataset>/<ds>`: shared inputs that other systems deliver; the team's roles may only
  read them, and nothing expires them.
- `<package>/<dag_id>/<task_id>/<ds>` (`data_path`): each task's results, handed to the next
  task; unique per team, DAG, task and logical date, so reruns overwrite their own output and
  nothing else. Intermediate: expired after the environment's `INFRA.DATA_RETENTION_DAYS`.
- `outputs/<package>/<dataset>/<ds>` (`output_path`): the team's final results, read by whoever
  consumes them; kept.

The paths are Jinja templates rendered at run time; pass them to EMR steps (`job_params`) and
container jobs (`arguments`) alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from {{ cookiecutter.package }}.settings import PACKAGE

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator


{% raw %}DATA_PATH = "{{ config.DATA_BUCKET }}/%(package)s/{{ dag.dag_id }}/%(task_id)s/{{ ds }}"
OUTPUT_PATH = "{{ config.DATA_BUCKET }}/outputs/%(package)s/%(dataset)s/{{ ds }}"{% endraw %}


def data_path(task: str | BaseOperator) -> str:
    """The templated location of `task`'s results (a task id, or the task itself)."""
    task_id = task if isinstance(task, str) else task.task_id
    return DATA_PATH % {"package": PACKAGE, "task_id": task_id}


def output_path(dataset: str) -> str:
    """The templated location of the final result `dataset`, kept for its consumers."""
    return OUTPUT_PATH % {"package": PACKAGE, "dataset": dataset}
