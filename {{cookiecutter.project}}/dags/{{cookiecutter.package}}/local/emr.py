"""Local twins of the EMR operators: the same tasks and spark-submit command, on local Spark.

No cluster starts: creating one records it in CLUSTERS, one JSON file per cluster with its
identity and state, and terminating it (the teardown, or the DAG's failure callback when a run
times out) marks it TERMINATED there and says by whom, so what ends a cluster can be seen
(cost: n/a, EMR counts instance hours). Waiting for the cluster does nothing. A step runs its
rendered spark-submit command here, changed only where a cluster cannot be had:

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

import hashlib
import json
import shlex
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from {{ cookiecutter.package }}.emr import (
    RUN_TAG,
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
# The local twin of EMR's list of clusters: <cluster id>.json, its name, tags, state, times.
CLUSTERS = LOCAL_DATA / ".emr-clusters"


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


def local_clusters() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(CLUSTERS.glob("*.json"))]


def record(cluster: Mapping[str, Any]) -> None:
    CLUSTERS.mkdir(parents=True, exist_ok=True)
    (CLUSTERS / f"{cluster['Id']}.json").write_text(json.dumps(cluster, indent=2))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LocalCreateCluster(CreateCluster):
    """No cluster to create: records one, and hands on its id for the tasks templated on it."""

    def execute(self, context: Context) -> str:
        name = self.job_flow_overrides.get("Name")
        self.log.info("Local run: no EMR cluster %s", name)
        digest = hashlib.sha256(json.dumps(self.identity, sort_keys=True).encode()).hexdigest()
        cluster = {"Id": f"{CLUSTER_ID}-{digest[:12]}", "Name": name, "Tags": self.identity}
        record(cluster | {"State": "WAITING", "Created": now()})
        return cluster["Id"]


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
    """Marks the run's local cluster TERMINATED, saying what ended it."""

    def execute(self, context: Context) -> dict[str, Any] | None:
        clusters = [cluster for cluster in local_clusters() if cluster["Id"] == self.job_flow_id]
        return self.end(clusters[0], "the teardown") if clusters else None

    def end_run(self, run_id: str) -> list[dict[str, Any]]:
        identity = self.identity | {RUN_TAG: run_id}
        return [
            self.end(cluster, "the DAG's failure callback")
            for cluster in local_clusters()
            if identity.items() <= cluster["Tags"].items() and cluster["State"] == "WAITING"
        ]

    def end(self, cluster: Mapping[str, Any], by: str = "") -> dict[str, Any]:
        self.log.info("Local run: cluster %s ended by %s (cost: n/a locally)", cluster["Id"], by)
        record(cluster | {"State": "TERMINATED", "Ended": now(), "EndedBy": by})
        return {"cluster_id": cluster["Id"], "normalized_instance_hours": None}


# Each EMR operator a Cluster builds its tasks from, and its twin here (twins.py).
EMR_TWINS = {
    CreateCluster: LocalCreateCluster,
    ClusterReadySensor: LocalClusterReady,
    AddStep: LocalSparkStep,
    StepSensor: LocalStepDone,
    TerminateCluster: LocalTerminateCluster,
}
{% endraw %}