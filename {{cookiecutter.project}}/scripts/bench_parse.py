{% raw %}"""Parse-time benchmark: DAGs written with the team libraries against the same DAGs, raw.

    make bench [N=50]

Generates N apps of each pattern (spark, k8s, hybrid) from the scaffold into a temporary DAGs
folder, and beside them the same DAGs written with the provider operators alone (same configs,
same tasks, no schema validation, no defaults). Each folder is parsed by a plain DagBag in a
fresh interpreter that has imported Airflow and both providers first, as the DAG processor
pre-imports them, so the figures are the DAG files' own. Prints total, median and max per-file
parse time for both, their ratio (the goal: the libraries add at most 10%), and the totals for
N/4, N/2 and N so that growth with N can be read off.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import new_app

from {% endraw %}{{ cookiecutter.package }}{% raw %}.settings import ENVIRONMENT_VARIABLE

REPO = new_app.REPO
PATTERNS = ("spark", "k8s", "hybrid")

# Airflow and both providers are imported before the clock starts: the figures are the DAGs'.
PARSE = """
import json, sys
import airflow.providers.amazon.aws.operators.emr, airflow.providers.cncf.kubernetes.operators.pod
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(json.dumps([stat.duration.total_seconds() for stat in bag.dagbag_stats]))
"""

RAW_HEADER = """
import json
from pathlib import Path

import pendulum
from airflow.sdk import DAG

HERE = Path(__file__).parent
"""

RAW_CLUSTER = """
from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator, EmrCreateJobFlowOperator, EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.sensors.emr import EmrJobFlowSensor, EmrStepSensor

CLUSTER_ID = "{{ ti.xcom_pull(task_ids='create_cluster') }}"


def step(task_id, config):
    job = json.loads((HERE / "job_configs" / config).read_text())
    args = ["spark-submit"]
    for flag, value in job.get("SparkArgs", {}).items():
        for item in value if isinstance(value, list) else [value]:
            args += [flag, str(item)]
    args.append(job["ScriptPath"])
    for flag, value in job.get("JobParams", {}).items():
        args += [flag, str(value)]
    add = EmrAddStepsOperator(
        task_id=task_id, job_flow_id=CLUSTER_ID,
        steps=[{"Name": task_id, "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args}}],
    )
    check = EmrStepSensor(
        task_id=f"wait_for_{task_id}", job_flow_id=CLUSTER_ID,
        step_id="{{ ti.xcom_pull(task_ids='%s')[0] }}" % task_id, mode="reschedule",
    )
    add >> check
    return add, check
"""

RAW_POD = """
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s
"""

RAW_DAG = """
with DAG(
    dag_id="raw.{app}", schedule="0 1 * * *", start_date=pendulum.datetime(2026, 1, 1),
    default_args={{"owner": "team", "retries": 2}}, tags=["team"],
):
{body}
"""

RAW_CREATE = """
    cluster = json.loads(next((HERE / "cluster_configs").glob("*.json")).read_text())
    create = EmrCreateJobFlowOperator(task_id="create_cluster", job_flow_overrides=cluster)
    ready = EmrJobFlowSensor(
        task_id="wait_for_cluster", job_flow_id=CLUSTER_ID, target_states=["RUNNING", "WAITING"],
        mode="reschedule",
    )
    terminate = EmrTerminateJobFlowOperator(task_id="terminate_cluster", job_flow_id=CLUSTER_ID)
"""

RAW_SCORE = """
    score = KubernetesPodOperator(
        task_id="score", name="score", namespace="team",
        image="registry.example.com/{app}-score:{{{{ var.value.docker_tag }}}}",
        arguments=["--date", "{{{{ ds }}}}"], get_logs=True,
        on_finish_action="delete_succeeded_pod",
        container_resources=k8s.V1ResourceRequirements(
            limits={{"memory": "1Gi", "cpu": "500m"}}, requests={{"memory": "1Gi", "cpu": "500m"}},
        ),
        security_context=k8s.V1PodSecurityContext(run_as_non_root=True),
    )
"""

RAW_BODY = {
    "spark": RAW_CREATE
    + """
    add, check = step("daily_event_counts", "daily_event_counts.json")
    create >> ready >> add
    check >> terminate.as_teardown(setups=[create, ready])
""",
    "k8s": RAW_SCORE,
    "hybrid": RAW_CREATE
    + RAW_SCORE
    + """
    pre, pre_check = step("preprocess", "preprocess.json")
    post, post_check = step("postprocess", "postprocess.json")
    create >> ready >> pre
    pre_check >> score >> post
    post_check >> terminate.as_teardown(setups=[create, ready])
""",
}


def raw_dag(app: str, pattern: str) -> str:
    imports = RAW_HEADER
    if pattern in ("spark", "hybrid"):
        imports += RAW_CLUSTER
    if pattern in ("k8s", "hybrid"):
        imports += RAW_POD
    return imports + RAW_DAG.format(app=app, body=RAW_BODY[pattern].format(app=app))


def generate(count: int, workdir: Path) -> tuple[Path, Path]:
    """Two DAGs folders: `library` (the package + scaffolded apps) and `raw` (same apps, raw)."""
    answers = new_app.recorded_answers()
    package = answers["package"]
    library, raw = workdir / "library", workdir / "raw"
    ignore = shutil.ignore_patterns("apps", "__pycache__")
    shutil.copytree(REPO / "dags" / package, library / package, ignore=ignore)
    for pattern in PATTERNS:
        # One render per pattern; the other apps are copies under their own names.
        model = f"bench_{pattern}"
        rendered = new_app.render(model, pattern, answers, workdir / "render" / pattern)
        model_dir = rendered / "dags" / package / "apps" / model
        for index in range(count):
            app = f"{model}_{index}"
            copy_app(model_dir, library / package / "apps" / app, model, app)
            copy_app(model_dir, raw / app, model, app)
            (raw / app / f"{app}_dag.py").write_text(raw_dag(app, pattern))
    return library / package / "apps", raw


def copy_app(source: Path, target: Path, model: str, app: str) -> None:
    for path in source.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(source).as_posix().replace(model, app)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(path.read_text().replace(model, app))


def parse(folder: Path, pythonpath: Path) -> list[float]:
    env = os.environ | {"PYTHONPATH": str(pythonpath), ENVIRONMENT_VARIABLE: "dev"}
    result = subprocess.run(
        [sys.executable, "-c", PARSE, str(folder)], capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        sys.exit(f"bench: parsing {folder} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(label: str, times: list[float]) -> float:
    total = sum(times)
    print(
        f"  {label:<8} files={len(times):<4} total={total:6.3f}s "
        f"median={statistics.median(times) * 1000:5.1f}ms max={max(times) * 1000:6.1f}ms"
    )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=50, help="apps per pattern (50)")
    count = parser.parse_args().n
    for n in sorted({max(1, count // 4), max(1, count // 2), count}):
        with tempfile.TemporaryDirectory() as workdir:
            library, raw = generate(n, Path(workdir))
            print(f"N={n} apps per pattern ({n * len(PATTERNS)} DAG files each side)")
            library_total = report("library", parse(library, library.parent.parent))
            raw_total = report("raw", parse(raw, raw))
            print(f"  ratio library/raw total = {library_total / raw_total:.3f}")


if __name__ == "__main__":
    main(){% endraw %}
