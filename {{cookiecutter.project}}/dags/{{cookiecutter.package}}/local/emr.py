"""Local twins of the EMR operators: the same tasks and spark-submit command, on local Spark.

Creating, waiting for and terminating the cluster do nothing (the tasks stay, as setups and
teardown). A step runs its rendered spark-submit command here, changed only where a cluster
cannot be had:

- `--master local[*]` instead of the cluster's YARN, and no `--deploy-mode` (local Spark runs
  the driver on this machine, in client mode);
- spark-submit and Python come from the app's own Spark project: `uv run --project
  jobs/<app>/spark spark-submit ...`, where <app> is the script's folder in the deployment
  bucket (`<release>/<app>/<script>.py`, the layout of the deploy pipeline);
- every `s3://` location is a folder under .local-data/ (paths.py).

The step runs to completion in its add-step task, so a failing script fails that task;
`wait_for_<job>` only confirms it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from {{ cookiecutter.package }}.emr import (
    AddStep,
    ClusterReadySensor,
    CreateCluster,
    StepSensor,
    TerminateCluster,
)
from {{ cookiecutter.package }}.local.paths import JOBS, LOCAL_DATA, localize
from {{ cookiecutter.package }}.local.process import LocalProcess, LocalRunError, uv_run
{% raw %}
if TYPE_CHECKING:
    from airflow.sdk import Context

LOCAL_MASTER = "local[*]"
# Options that choose a cluster; local Spark has none.
CLUSTER_OPTIONS = frozenset({"--master", "--deploy-mode"})
# spark-submit options without a value; every other option takes one.
BARE_OPTIONS = frozenset({"--verbose", "-v", "--supervise", "--help", "-h", "--version"})
CLUSTER_ID = "local"


def split_spark_submit(command: Sequence[str]) -> tuple[list[list[str]], str, list[str]]:
    """A spark-submit command line as (options, each with its value; script; its arguments)."""
    if not command or PurePosixPath(command[0]).name != "spark-submit":
        raise LocalRunError(f"not a spark-submit command: {list(command)[:3]}")
    words = list(command[1:])
    options = []
    while words and words[0].startswith("-"):
        option = [words.pop(0)]
        if option[0] not in BARE_OPTIONS and "=" not in option[0]:
            if not words:
                raise LocalRunError(f"spark-submit option {option[0]} has no value")
            option.append(words.pop(0))
        options.append(option)
    if not words:
        raise LocalRunError(f"spark-submit command without a script: {list(command)}")
    return options, words[0], words[1:]


def local_spark_submit(command: Sequence[str]) -> tuple[list[str], Path]:
    """The local form of a step's spark-submit command, and the Spark project it runs in."""
    options, script, arguments = split_spark_submit(command)
    project = JOBS / PurePosixPath(script).parent.name / "spark"
    if not (project / "pyproject.toml").is_file():
        raise LocalRunError(
            f"{script}: no Spark project {project} to run it with (a script deployed as "
            "<release>/<app>/<script>.py comes from jobs/<app>/spark/)"
        )
    kept = [option for option in options if option[0].split("=")[0] not in CLUSTER_OPTIONS]
    spark_submit = ["spark-submit", "--master", LOCAL_MASTER, *chain(*kept), script, *arguments]
    local = [localize(word, LOCAL_DATA) for word in spark_submit]
    return [*uv_run(project, dev=True), *local], project


class LocalCreateCluster(CreateCluster):
    """No cluster to create: hands on a placeholder id, so the tasks templated on it render."""

    def execute(self, context: Context) -> str:
        self.log.info("Local run: no EMR cluster %s", self.job_flow_overrides.get("Name"))
        return CLUSTER_ID


class LocalClusterReady(ClusterReadySensor):
    def execute(self, context: Context) -> None:
        self.log.info("Local run: Spark runs on this machine, no cluster to wait for")


class LocalSparkStep(LocalProcess, AddStep):
    """Runs each step's spark-submit on local Spark, to completion."""

    def execute(self, context: Context) -> list[str]:
        for step in self.steps:
            command = step["HadoopJarStep"]["Args"]
            self.log.info("The step's command on EMR:\n  %s", shlex.join(command))
            local, project = local_spark_submit(command)
            self.run_process(local, cwd=project)
        return [f"{CLUSTER_ID}-{step['Name']}" for step in self.steps]


class LocalStepDone(StepSensor):
    def execute(self, context: Context) -> None:
        self.log.info("Local run: step %s ran to completion in its add-step task", self.step_id)


class LocalTerminateCluster(TerminateCluster):
    def execute(self, context: Context) -> None:
        self.log.info("Local run: no EMR cluster to terminate")


# Each EMR operator a Cluster builds its tasks from, and its twin here (twins.py).
EMR_TWINS = {
    CreateCluster: LocalCreateCluster,
    ClusterReadySensor: LocalClusterReady,
    AddStep: LocalSparkStep,
    StepSensor: LocalStepDone,
    TerminateCluster: LocalTerminateCluster,
}
{% endraw %}