{% raw %}"""Parse cost under Airflow's DAG processor: DAGs written with the team libraries against raw twins.

    make bench [N=5] [REPEATS=3]

For each pattern (spark, k8s, hybrid) it generates N apps with the scaffold of `make new-app`
and their raw twins: the same tasks and JSON configs written with the provider operators alone
(the run's `release` task too, as a PythonOperator). The real `airflow dag-processor -n 1`
(sqlite, a throwaway AIRFLOW_HOME) parses each folder, as production does: one child process
per file, forked after pre-importing the `airflow.*` modules that file names. Two figures per
DAG file, in CPU seconds:

- `parse`: the forked parsers' CPU divided by the files, what every parse loop pays per file
  (read from /proc while the finished processor waits to be reaped; Linux only);
- `all`: the CPU of the processor and its children minus that of a run over an empty folder,
  divided by the files. It also carries the manager's one-time pre-import of the providers,
  spread over the files (it falls from N to 2N and must never grow), and the manager's own
  work, which it does once a second of wall time whatever it parses.

Measured first without bytecode for site-packages and DAGs (as uv installs and as
PYTHONDONTWRITEBYTECODE=1 leaves them), then with everything compiled by compileall (as
production images usually ship). The goal: library/raw at most 1.05 for each pattern.

A processor run's total scatters by about 5% (the manager's work follows the machine's load),
10% of an `all` figure; the parsers' own CPU scatters far less. Every folder is parsed REPEATS
times and the cheapest run counts (the least disturbed; the work itself never shrinks). A
folder and its twin are parsed at the same time, on two cores where there are two, and so are
two runs over the empty folder.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import new_app

from {% endraw %}{{ cookiecutter.package }}{% raw %}.settings import ENVIRONMENT_VARIABLE

REPO = new_app.REPO
PATTERNS = ("spark", "k8s", "hybrid")

RAW_HEADER = """
import json
from pathlib import Path

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Variable

HERE = Path(__file__).parent
RELEASE = "{{ ti.xcom_pull(task_ids='release') }}"
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
    release = PythonOperator(task_id="release", python_callable=lambda: Variable.get("release"))
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
        image="registry.example.com/{app}-score:" + RELEASE,
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
    release >> create >> ready >> add
    check >> terminate.as_teardown(setups=[create, ready])
""",
    "k8s": RAW_SCORE + "    release >> score\n",
    "hybrid": RAW_CREATE
    + RAW_SCORE
    + """
    pre, pre_check = step("preprocess", "preprocess.json")
    post, post_check = step("postprocess", "postprocess.json")
    release >> create >> ready >> pre
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


def generate(pattern: str, count: int, workdir: Path) -> tuple[Path, Path]:
    """Two DAGs folders of `count` apps each: `library` (the package, apps made by the scaffold)
    and `raw` (the same apps and configs, DAG files written with the provider operators)."""
    answers = new_app.recorded_answers()
    package = answers["package"]
    library, raw = workdir / f"library-{pattern}-{count}", workdir / f"raw-{pattern}-{count}"
    # The package without its own DAGs (apps, the ops DAGs): only the generated apps are parsed.
    ignore = shutil.ignore_patterns("apps", "ops", "__pycache__")
    shutil.copytree(REPO / "dags" / package, library / package, ignore=ignore)
    model = f"bench_{pattern}"
    rendered = workdir / "render" / pattern / model
    if not rendered.exists():
        new_app.render(model, pattern, answers, rendered.parent)
    model_dir = rendered / "dags" / package / "apps" / model
    for index in range(count):
        app = f"{model}_{index}"
        copy_app(model_dir, library / package / "apps" / app, model, app)
        copy_app(model_dir, raw / app, model, app)
        (raw / app / f"{app}_dag.py").write_text(raw_dag(app, pattern))
    return library, raw


def copy_app(source: Path, target: Path, model: str, app: str) -> None:
    for path in source.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(source).as_posix().replace(model, app)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(path.read_text().replace(model, app))


class Processor:
    """Runs `airflow dag-processor -n 1` over one folder at a time, each on a fresh database."""

    def __init__(self, workdir: Path, pycache: Path) -> None:
        self.workdir = workdir
        self.database = workdir / "migrated.db"
        self.env = os.environ | {
            ENVIRONMENT_VARIABLE: "dev",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # CPU is measured, not wall time: a loaded machine must not time a parse out.
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
            "PYTHONDONTWRITEBYTECODE": "1",
            # Bytecode is read from here only: what is compiled there is all there is.
            "PYTHONPYCACHEPREFIX": str(pycache),
        }
        self.runs = itertools.count(1)  # thread-safe, for parse_together
        self.cores = ThreadPoolExecutor(min(2, os.cpu_count() or 1))
        self.airflow(["db", "migrate"], workdir / "migrate")
        shutil.copy(workdir / "migrate" / "airflow.db", self.database)

    def airflow(self, arguments: list[str], home: Path, dags: Path | None = None) -> Cpu:
        """Run an airflow command; return the CPU seconds of its process tree."""
        home.mkdir(parents=True, exist_ok=True)
        env = self.env | {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags or home / "dags"),
        }
        log = home / "airflow.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "airflow", *arguments],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            children = None
            if hasattr(os, "waitid"):  # not on macOS
                # Exited but not reaped, the process still shows its children's CPU in /proc.
                os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
                children = children_cpu(process.pid)
            # wait4: the usage of this process and of every child it waited for (the parsers).
            _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"bench: airflow {' '.join(arguments)} failed, see {log}:\n{tail(log)}")
        return Cpu(usage.ru_utime + usage.ru_stime, children)

    def parse(self, folder: Path, files: int) -> Cpu:
        """CPU seconds of one parse of every DAG file in `folder` (all must load)."""
        home = self.workdir / f"home-{next(self.runs)}"
        home.mkdir()
        shutil.copy(self.database, home / "airflow.db")
        cpu = self.airflow(["dag-processor", "-n", "1"], home, folder)
        with sqlite3.connect(home / "airflow.db") as db:
            errors = db.execute("SELECT filename, stacktrace FROM import_error").fetchall()
            dags = db.execute("SELECT count(*) FROM dag").fetchone()[0]
        if errors:
            sys.exit(f"bench: {folder}: import errors:\n{errors[0][0]}\n{errors[0][1]}")
        if dags != files:
            sys.exit(f"bench: {folder}: {dags} DAGs parsed, expected {files}; see {home}")
        shutil.rmtree(home)
        return cpu

    def parse_together(self, folders: list[Path], files: int) -> list[Cpu]:
        """`parse` of each folder, side by side on up to two cores: a folder and its twin share
        whatever load the machine has, and the bench takes half the time."""
        return list(self.cores.map(self.parse, folders, [files] * len(folders)))


class Cpu(NamedTuple):
    total: float  # the processor and its children
    children: float | None  # its children (the parsers) alone; None where /proc is not


def children_cpu(pid: int) -> float | None:
    """The CPU seconds of the children `pid` waited for (cutime + cstime in /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, field 3 (state) is [0]
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def tail(log: Path) -> str:
    return "\n".join(log.read_text().splitlines()[-30:])


def compile_bytecode(pycache: Path, *trees: str | Path) -> None:
    env = os.environ | {"PYTHONPYCACHEPREFIX": str(pycache)}
    # Test suites and GUI modules of the standard library are never imported while parsing.
    skip = r"[/\\](test|tests|idlelib|tkinter|turtledemo|lib2to3)[/\\]"
    command = [sys.executable, "-m", "compileall", "-q", "-j0", "-x", skip, *map(str, trees)]
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5, help="apps per pattern (5)")
    parser.add_argument("repeats", nargs="?", type=int, default=3, help="runs per folder (3)")
    arguments = parser.parse_args()
    count, repeats = arguments.n, arguments.repeats
    if count < 1 or repeats < 1:
        sys.exit("bench: N and REPEATS must be at least 1")
    sizes = (count, 2 * count)
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        workdir = Path(tmp)
        folders = {
            (pattern, size): generate(pattern, size, workdir)
            for pattern in PATTERNS
            for size in sizes
        }
        empty_folder = workdir / "empty"
        empty_folder.mkdir()
        pycache = workdir / "pycache"
        paths = sysconfig.get_paths()
        # The interpreter's own standard library ships compiled, in both cases.
        compile_bytecode(pycache, paths["stdlib"])
        processor = Processor(workdir, pycache)
        print(
            "CPU seconds per DAG file under `airflow dag-processor -n 1`, the cheapest of "
            f"{repeats} runs of each folder: `parse` the forked parsers alone, `all` the "
            "whole processor minus its run over an empty folder"
        )
        print(f"{'':<23}{'parse':-^24}  {'all':-^24}")
        heading = f"{'library':>8}{'raw':>8}{'ratio':>8}"
        print(f"{'bytecode':<9}{'pattern':<8}{'files':>6}{heading}  {heading}")
        for bytecode in ("no", "yes"):
            if bytecode == "yes":
                dags = [folder for pair in folders.values() for folder in pair]
                compile_bytecode(pycache, *{paths["purelib"], paths["platlib"]}, *dags)
            empties = [processor.parse_together([empty_folder] * 2, 0) for _ in range(repeats)]
            empty = min(run.total for pair in empties for run in pair)
            print(f"{bytecode:<9}(empty folder: {empty:.2f} s per run)")
            for (pattern, size), (library, raw) in folders.items():
                runs = [processor.parse_together([library, raw], size) for _ in range(repeats)]
                sides = list(zip(*runs, strict=True))  # library's runs, raw's runs
                parse = per_file(sides, "children", size, baseline=0.0)
                whole = per_file(sides, "total", size, baseline=empty)
                row = f"{bytecode:<9}{pattern:<8}{size:>6}{columns(parse)}  {columns(whole)}"
                print(row, flush=True)


def per_file(
    sides: list[tuple[Cpu, ...]], field: str, files: int, baseline: float
) -> list[float] | None:
    """Each side's cheapest run of `field`, minus `baseline`, per file; None if not measured."""
    values = [[getattr(run, field) for run in runs] for runs in sides]
    if any(None in side for side in values):
        return None
    return [(min(side) - baseline) / files for side in values]


def columns(figures: list[float] | None) -> str:
    """library, raw and their ratio; dashes where the figure cannot be had."""
    if figures is None:
        return f"{'-':>8}{'-':>8}{'-':>8}"
    library, raw = figures
    return f"{library:>8.3f}{raw:>8.3f}{library / raw:>8.2f}"


if __name__ == "__main__":
    main(){% endraw %}
