"""Rerun a finished run's failed or chosen tasks on another release, and keep its history.

A run keeps the release its `release` task pinned when it first started, through retries and
clears (release.py of the DAGs package): a plain clear reruns the bug. After a fix is deployed,

    make rerun ENVIRONMENT=prod DAG=<dag id> RUN=<run id> [RELEASE=<sha>] [TASKS="<task> ..."]

checks that the release (by default the live one, the release Variable) is deployed to the
environment, its scripts and images all still there; leaves it in the run's `release` task state
store (RERUN_KEY); then clears the `release` task on its own, then the run's failed and
upstream-failed tasks (or TASKS) with their downstream tasks and the setups they need (a cluster
comes up again for a Spark step). In that order: a cleared task waits for `release`, which pins
the new release before any of them starts, so they all render it. Earlier tries stay in the
run's history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scripts.deploy import BadInput, DeployError
from scripts.deploy.artifacts import check_release_complete
from scripts.deploy.layout import RELEASE_VARIABLE, check_release, dags_constant

if TYPE_CHECKING:
    from scripts.deploy.airflow_variable import Mwaa, RestApi
    from scripts.deploy.layout import Environment

RELEASE_TASK = dags_constant("release", "TASK_ID")
RERUN_KEY = dags_constant("release", "RERUN_KEY")
FINISHED = ("success", "failed")
TO_RERUN = ("failed", "upstream_failed")


def rerun(
    airflow: RestApi | Mwaa,
    environment: Environment,
    s3,
    dag_id: str,
    run_id: str,
    release: str | None = None,
    tasks: list[str] | None = None,
) -> tuple[str, list[str]]:
    """Rerun `tasks` (by default the failed ones) of the run `run_id` of `dag_id` on `release`
    (by default the live one); return the release and the tasks asked for."""
    run_path = f"/dags/{dag_id}/dagRuns/{run_id}"
    state = airflow.request("GET", run_path)["state"]
    if state not in FINISHED:
        raise BadInput(f"{dag_id} {run_id} is {state}: wait for it to end, or mark it failed")
    if release is None:
        variable = airflow.request("GET", f"/variables/{RELEASE_VARIABLE}")
        release = variable["value"]
    check_release_complete(environment, check_release(release), s3)

    listed = airflow.request("GET", f"{run_path}/taskInstances?limit=1000")["task_instances"]
    states = {ti["task_id"]: ti["state"] for ti in listed}
    if RELEASE_TASK not in states:
        raise BadInput(f"{dag_id} has no {RELEASE_TASK!r} task: its runs have no release")
    unknown = sorted(set(tasks or ()) - states.keys())
    if unknown:
        raise BadInput(f"{dag_id} has no task {', '.join(unknown)} (TASKS)")
    chosen = tasks or sorted(task for task, state in states.items() if state in TO_RERUN)
    if not chosen:
        raise BadInput(f"no task of {dag_id} {run_id} failed: name the ones to rerun (TASKS)")

    asked = {"release": release, "asked": datetime.now(UTC).isoformat(timespec="seconds")}
    store = f"{run_path}/taskInstances/{RELEASE_TASK}/state-store/{RERUN_KEY}"
    airflow.request("PUT", store, {"value": asked})
    clear(airflow, dag_id, run_id, [RELEASE_TASK], downstream=False)
    clear(airflow, dag_id, run_id, chosen, downstream=True)
    return release, chosen


def clear(airflow: RestApi | Mwaa, dag_id: str, run_id: str, tasks: list[str], downstream: bool):
    body = {
        "dag_run_id": run_id,
        "task_ids": tasks,
        "include_downstream": downstream,
        "only_failed": False,
        "reset_dag_runs": True,
        "dry_run": False,
    }
    cleared = airflow.request("POST", f"/dags/{dag_id}/clearTaskInstances", body)
    if not cleared.get("task_instances"):
        raise DeployError(f"Airflow cleared nothing of {', '.join(tasks)} in {run_id}")
