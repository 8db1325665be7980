"""Run one app's DAG end to end on this machine: `make run-local app=<app> [date=YYYY-MM-DD]`.

The app's own DAG file runs under Airflow's `dag.test()` in the `local` environment
(environments/local.json): the tasks, configs and arguments of production, executed by the local
runtime (dags/<package>/local/): Spark steps on local Spark, container jobs as local processes,
`s3://` locations as folders under .local-data/. Before the run:

- the prerequisites are checked: uv, and Java for an app with Spark steps;
- the app's sample data, jobs/<app>/sample/<dataset>/<YYYY-MM-DD>/, lands in the local data
  bucket at landing/<dataset>/<date>/ (the sample's own day when it has it, else its latest day;
  without date=, the run is for the sample's latest day);
- the Spark scripts are deployed to the local deployment bucket as release `local` by the
  deploy pipeline's own code, and the release Variable says `local`.

Airflow's metadata database is a throwaway sqlite file in .airflow-local/, which also keeps the
run's full log. Retries are off: a failing task fails the run at once, its log is printed and
the exit code is 1. Bad input exits with code 2 and one line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from botocore.exceptions import ClientError

from {{ cookiecutter.package }}.local.paths import JOBS, LOCAL_DATA, REPO, local_path
from {{ cookiecutter.package }}.paths import data_path
from {{ cookiecutter.package }}.settings import (
    ENVIRONMENT_VARIABLE,
    PACKAGE,
    load_settings,
)

from scripts.deploy.artifacts import upload_release
from scripts.deploy.layout import EMR_POOL, RELEASE_VARIABLE, load_environment
from scripts.java import java_problem

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG, Context

ENVIRONMENT = "local"
RELEASE = "local"
APPS = REPO / "dags" / PACKAGE / "apps"
AIRFLOW_HOME = REPO / ".airflow-local"
# Airflow's log lines, plainer than its default console format.
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
APP_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LOG_TAIL_LINES = 150
USAGE = "make run-local app=<app> [date=YYYY-MM-DD]"


class BadInput(ValueError):
    """Shown to the user as one line; exit code 2."""


# --- input ---------------------------------------------------------------------------------


def check_app(app: str | None) -> Path:
    """The DAG file of `app`."""
    known = ", ".join(sorted(path.parent.name for path in APPS.glob("*/*_dag.py"))) or "none yet"
    if not app:
        raise BadInput(f"missing app: {USAGE} (apps: {known})")
    dag_file = APPS / app / f"{app}_dag.py"
    if not APP_NAME.match(app) or not dag_file.is_file():
        raise BadInput(f"app={app!r}: no such app in dags/{PACKAGE}/apps/ (apps: {known})")
    return dag_file


def check_day(day: str) -> date:
    with contextlib.suppress(ValueError):
        if DAY.match(day):
            return date.fromisoformat(day)
    raise BadInput(f"date={day!r}: not a day as YYYY-MM-DD, e.g. date=2026-01-31")


def sample_days(app: str) -> dict[Path, list[str]]:
    """Each dataset folder of the app's sample, with the days it holds, oldest first."""
    found = {}
    for dataset in sorted(path for path in (JOBS / app / "sample").glob("*") if path.is_dir()):
        if days := sorted(day.name for day in dataset.iterdir() if DAY.match(day.name)):
            found[dataset] = days
    return found


def default_day(app: str) -> str:
    days = [day for found in sample_days(app).values() for day in found]
    if not days:
        raise BadInput(
            f"app={app!r} has no sample data (jobs/{app}/sample/<dataset>/<YYYY-MM-DD>/): "
            f"say which day to run, {USAGE}"
        )
    return max(days)


# --- before the run ------------------------------------------------------------------------


def check_prerequisites(needs_spark: bool) -> None:
    if not (os.environ.get("UV") or shutil.which("uv")):
        raise BadInput("uv not found: run through make, or install uv (https://docs.astral.sh/uv/)")
    if needs_spark and (problem := java_problem()):
        raise BadInput(problem)


def land_samples(app: str, day: str, landing: Path) -> list[tuple[Path, Path]]:
    """Copy each sample dataset to `landing/<dataset>/<day>/`, replacing what was there."""
    landed = []
    for dataset, days in sample_days(app).items():
        source = dataset / (day if day in days else days[-1])
        target = landing / dataset.name / day
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        landed.append((source, target))
    return landed


class LocalBucket:
    """The S3 calls of the deploy pipeline's upload and release check (rollback, rerun), made on
    folders under .local-data/."""

    def upload_file(self, filename: str, bucket: str, key: str) -> None:
        self.put_object(Bucket=bucket, Key=key, Body=Path(filename).read_bytes())

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: object) -> None:
        target = LOCAL_DATA / Bucket / Key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Body)

    def get_object(self, *, Bucket: str, Key: str) -> dict:
        path = LOCAL_DATA / Bucket / Key
        if not path.is_file():
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": Key}}, "GetObject")
        return {"Body": io.BytesIO(path.read_bytes())}

    def get_paginator(self, operation: str) -> LocalBucket:
        return self  # list_objects_v2, in one page

    def paginate(self, *, Bucket: str, Prefix: str) -> Iterator[dict]:
        root = LOCAL_DATA / Bucket
        keys = (path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())
        yield {"Contents": [{"Key": key} for key in keys if key.startswith(Prefix)]}


def deploy_release(app: str, root: Path = REPO) -> str:
    """Deploy release `local` (every Spark script, then the manifest) as the deploy pipeline
    lays it out; says what of it the app runs."""
    with contextlib.redirect_stdout(io.StringIO()):
        uploaded = upload_release(load_environment(ENVIRONMENT), RELEASE, LocalBucket(), root)
    scripts = [key for key in uploaded if key.split("/")[-2:-1] == [app]]
    own = f"{len(scripts)} Spark script(s) of {app}" if scripts else f"no Spark script for {app}"
    return f"release {RELEASE}, {own}"


def use_local_airflow(dag_folder: Path) -> None:
    """Point this process at the local environment and a throwaway Airflow, before importing it
    (so the names of the release Variable and the EMR pool come from the deploy's layout, not
    from the DAGs package, which imports Airflow)."""
    AIRFLOW_HOME.mkdir(exist_ok=True)
    os.environ.update(
        {
            ENVIRONMENT_VARIABLE: ENVIRONMENT,
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dag_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOG_FORMAT": LOG_FORMAT,
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            f"AIRFLOW_VAR_{RELEASE_VARIABLE.upper()}": RELEASE,
        }
    )


def load_dag(dag_file: Path) -> DAG:
    """The app's DAG, parsed as the DAG processor does; an import error is printed, exit 1."""
    from airflow.dag_processing.dagbag import DagBag

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        bag = DagBag(dag_folder=str(dag_file), safe_mode=False)
    if bag.import_errors:
        print(*bag.import_errors.values(), file=sys.stderr)
        sys.exit(f"run-local: {relative(dag_file)} does not import (see above)")
    dag_id = f"{PACKAGE}.{dag_file.parent.name}"
    if dag_id not in bag.dags:
        raise BadInput(f"{relative(dag_file)} defines no DAG {dag_id} (use app_dag_id(__file__))")
    return bag.dags[dag_id]


def check_schedule(dag: DAG, day: date) -> None:
    """Airflow runs a DAG only between its start and end dates: say so before trying."""
    start, end = dag.start_date, dag.end_date
    if start and day < start.date():
        raise BadInput(f"date={day}: before the start date of {dag.dag_id}, {start.date()}")
    if end and day > end.date():
        raise BadInput(f"date={day}: after the end date of {dag.dag_id}, {end.date()}")


def has_spark_steps(dag: DAG) -> bool:
    from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator

    return any(isinstance(task, EmrAddStepsOperator) for task in dag.tasks)


# --- the run -------------------------------------------------------------------------------


@contextlib.contextmanager
def output_to(log_file: Path) -> Iterator[TextIO]:
    """Send all output (Airflow's, the tasks', their child processes') to `log_file`, and
    yield the terminal for progress lines."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("w") as log, open(os.dup(saved[0]), "w", buffering=1) as terminal:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, original in zip((1, 2), saved, strict=True):
                os.dup2(original, fd)
                os.close(original)


class Progress:
    """Task callbacks: a line per task on the terminal, and where each task's log lies.

    Tasks run one after the other, so a task's log runs from where the previous one ended.
    """

    def __init__(self, terminal: TextIO, log_file: Path) -> None:
        self.terminal = terminal
        self.log_file = log_file
        self.logged = 0
        self.log_spans: dict[str, tuple[int, int]] = {}

    def watch(self, dag: DAG) -> None:
        """Follow every task; retries go (a local failure is no passing glitch) and so do the
        DAG's own task callbacks (alerts are for production runs)."""
        for task in dag.tasks:
            task.retries = 0
            task.on_execute_callback = [self.started]
            task.on_success_callback = [self.ended]
            task.on_failure_callback = [self.ended]

    def log_size(self) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        return self.log_file.stat().st_size

    def started(self, context: Context) -> None:
        print(f"  start   {context['ti'].task_id}", file=self.terminal)

    def ended(self, context: Context) -> None:
        task_id = context["ti"].task_id
        self.log_spans[task_id] = (self.logged, self.log_size())
        self.logged = self.log_spans[task_id][1]
        error = context.get("exception")
        result = f"FAILED  {task_id}: {error}" if error else f"ok      {task_id}"
        print(f"  {result}", file=self.terminal)

    def task_log(self, task_id: str) -> str:
        """The log lines of one task (the last LOG_TAIL_LINES of them)."""
        start, end = self.log_spans.get(task_id, (0, self.log_size()))
        with self.log_file.open("rb") as log:
            log.seek(start)
            lines = log.read(end - start).decode(errors="replace").splitlines()
        if len(lines) > LOG_TAIL_LINES:
            skipped = f"[{len(lines) - LOG_TAIL_LINES} lines before these: see the full log]"
            lines = [skipped, *lines[-LOG_TAIL_LINES:]]
        return "\n".join(lines)


def run_dag(dag: DAG, day: date, log_file: Path) -> tuple[DagRun, Progress]:
    """`dag.test()` for `day` on a migrated throwaway database, with the team's EMR pool."""
    import pendulum

    with output_to(log_file) as terminal:
        from airflow.models.pool import Pool
        from airflow.utils import db

        db.upgradedb()
        slots = load_settings().EMR_MAX_CLUSTERS
        Pool.create_or_update_pool(EMR_POOL, slots, "EMR clusters started at once", False)
        progress = Progress(terminal, log_file)
        progress.watch(dag)
        run = dag.test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"))
    return run, progress


# --- after the run -------------------------------------------------------------------------


def outputs(dag: DAG, day: str, succeeded: set[str]) -> list[tuple[str, Path]]:
    """The local data path of each task that succeeded and wrote one (paths.data_path)."""
    from jinja2 import Template

    settings = load_settings()
    found = []
    for task_id in succeeded:
        uri = Template(data_path(task_id)).render(config=settings, dag=dag, ds=day)
        if (path := local_path(uri)).exists():
            found.append((task_id, path))
    return found


def describe(path: Path) -> str:
    files = [file for file in path.rglob("*") if file.is_file() and file.name[0] not in "._"]
    return f"{len(files)} file(s), {sum(file.stat().st_size for file in files):,} bytes"


def relative(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def report(dag: DAG, run: DagRun, progress: Progress, day: str, seconds: float) -> int:
    """Print the failed tasks' logs, a summary and the outputs; the exit code."""
    tasks = [task.task_id for task in dag.topological_sort()]
    states = {ti.task_id: ti for ti in run.get_task_instances()}
    failed = [task_id for task_id in tasks if states[task_id].state == "failed"]
    for task_id in failed:
        print(f"\n--- log of {task_id} ---\n{progress.task_log(task_id)}\n--- end of {task_id} ---")
    from {{ cookiecutter.package }}.emr import TerminateCluster

    print(f"\n{dag.dag_id} for {day}: {run.state} in {seconds:.0f} s")
    for task_id in tasks:
        ti = states[task_id]
        took = f"{ti.duration:7.1f} s" if ti.duration is not None else ""
        # What a cluster cost is in production the teardown's log and XCom: EMR counts it.
        ends_a_cluster = isinstance(dag.get_task(task_id), TerminateCluster)
        cost = "  cluster cost: n/a locally" if ends_a_cluster else ""
        print(f"  {task_id:<40} {ti.state!s:<16}{took}{cost}")
    succeeded = [task_id for task_id in tasks if states[task_id].state == "success"]
    found = outputs(dag, day, succeeded)
    if found:
        print("Outputs:")
        for task_id, path in found:
            print(f"  {task_id:<20} {relative(path)}  ({describe(path)})")
    print(f"Full log: {relative(progress.log_file)}")
    if run.state == "success":
        return 0
    print(f"run-local: {dag.dag_id} failed: {', '.join(failed) or 'see the log'}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", help="the app to run, a folder of dags/<package>/apps/")
    parser.add_argument("--date", help="the run's logical date, YYYY-MM-DD")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        dag_file = check_app(args.app)
        day = check_day(args.date or default_day(args.app))
        use_local_airflow(dag_file.parent)
        dag = load_dag(dag_file)
        check_schedule(dag, day)
        check_prerequisites(needs_spark=has_spark_steps(dag))
    except BadInput as error:
        print(f"run-local: {error}", file=sys.stderr)
        return 2

    settings = load_settings()
    print(f"run-local: {dag.dag_id} for {day} (environment {settings.ENV}, s3:// is .local-data/)")
    landing = local_path(settings.DATA_BUCKET) / "landing"
    for source, target in land_samples(args.app, str(day), landing):
        print(f"  sample  {relative(source)} -> {relative(target)}")
    deployed = local_path(settings.DEPLOYMENT_BUCKET) / RELEASE
    print(f"  deploy  {deploy_release(args.app)} -> {relative(deployed)}/")
    log_file = AIRFLOW_HOME / "logs" / dag.dag_id / f"{day}.log"
    print(f"Running {len(dag.tasks)} tasks, retries off, Airflow home {relative(AIRFLOW_HOME)}/:")
    run, progress = run_dag(dag, day, log_file)
    return report(dag, run, progress, str(day), time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
