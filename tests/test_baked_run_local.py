"""`make run-local` in a baked repository: every example runs its real DAG end to end on local
Spark and local processes and computes the expected results from its sample data; a failing
task fails the run, naming the task; bad input is one line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import bake, baked_env, commit_all, run

pytestmark = pytest.mark.gate

DAY = "2026-01-31"
# Where the data-path convention puts a task's results for DAY, under the local data bucket.
RESULTS = ".local-data/data-pipelines-data/local/data_pipelines/data_pipelines.{app}/{task}/" + DAY
READ_PARQUET = (
    "import json, sys, pyarrow.parquet as pq; "
    "print(json.dumps(pq.read_table(sys.argv[1]).to_pylist(), default=str))"
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = bake(tmp_path_factory.mktemp("run-local"))
    commit_all(repo)
    return repo


def run_local(repo: Path, *arguments: str, check: bool = True):
    return run(["make", "run-local", *arguments], repo, check=check)


def results(repo: Path, app: str, task: str) -> list[dict]:
    """The rows a task wrote as parquet, read with pyarrow from a job's own environment."""
    path = repo / RESULTS.format(app=app, task=task)
    project = next(repo.glob("jobs/*/score"))
    command = ["uv", "run", "--locked", "--no-dev", "--project", str(project), "python", "-c"]
    return json.loads(run([*command, READ_PARQUET, str(path)], repo).stdout)


def summary(stdout: str) -> dict[str, str]:
    """Each task's state, from the summary printed after the run."""
    table = stdout.split(f" for {DAY}: ")[-1].split("Outputs:")[0].split("Full log:")[0]
    return dict(line.split()[:2] for line in table.splitlines()[1:] if line.strip())


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("run-local:")]


@contextmanager
def changed(path: Path, text: str) -> Iterator[None]:
    """`path` holds `text` for the duration, then its committed content again."""
    original = path.read_text()
    path.write_text(text)
    try:
        yield
    finally:
        path.write_text(original)


def test_spark_example_counts_the_days_events(repo):
    out = run_local(repo, "app=spark_example").stdout

    assert f"data_pipelines.spark_example for {DAY}: success" in out
    assert RESULTS.format(app="spark_example", task="daily_event_counts") in out
    counts = {
        row["event_type"]: (row["events"], row["users"])
        for row in results(repo, "spark_example", "daily_event_counts")
    }
    # The duplicate delivery counts once; the late arrival of the day before not at all.
    assert counts == {
        "page_view": (4, 3),
        "add_to_cart": (2, 2),
        "purchase": (1, 1),
        "signup": (1, 1),
    }


def test_k8s_example_scores_the_customers(repo):
    out = run_local(repo, "app=k8s_example", f"date={DAY}").stdout

    assert f"data_pipelines.k8s_example for {DAY}: success" in out
    scores = [(row["customer_id"], row["score"]) for row in results(repo, "k8s_example", "score")]
    # Best first; bob's order after the run date is left out.
    assert scores == [("alice", 195.92), ("bob", 97.72), ("carol", 15.25), ("dave", 4.95)]


def test_hybrid_example_cleans_scores_and_sums_up(repo):
    out = run_local(repo, "app=hybrid_example").stdout

    assert f"data_pipelines.hybrid_example for {DAY}: success" in out
    assert set(summary(out).values()) == {"success"} and len(summary(out)) == 9
    cleaned = repo / RESULTS.format(app="hybrid_example", task="preprocess")
    rows = [line for csv in cleaned.glob("part-*.csv") for line in csv.read_text().splitlines()]
    assert sorted(row.split(",")[0] for row in rows if not row.startswith("order_id")) == [
        "r-1",
        "r-2",
        "r-3",
        "r-5",
        "r-9",
    ]
    scored = {row["customer_id"]: row["orders"] for row in results(repo, "hybrid_example", "score")}
    assert scored == {"alice": 2, "bob": 1, "carol": 1, "frank": 1}
    segments = {
        row["segment"]: (row["customers"], row["revenue"], row["average_score"])
        for row in results(repo, "hybrid_example", "postprocess")
    }
    assert segments == {
        "active": (2, 192.5, 91.81),
        "at_risk": (1, 300.0, 101.28),
        "lapsed": (1, 75.0, 2.24),
    }


def test_a_corrupt_input_fails_the_container_job_and_the_run(repo):
    sample = repo / "jobs/k8s_example/sample/orders" / DAY / "orders.csv"
    with changed(sample, "order_id,customer_id,order_date,amount\no-1,alice,not-a-date,1\n"):
        result = run_local(repo, "app=k8s_example", check=False)

    assert result.returncode != 0
    assert errors(result.stderr) == ["run-local: data_pipelines.k8s_example failed: score"]
    assert "FAILED  score: exited with code 1" in result.stdout
    log = result.stdout.split("--- log of score ---")[1]
    assert "ArrowInvalid" in log and "not-a-date" in log


def test_a_broken_spark_script_fails_its_step_and_still_tears_down(repo):
    script = repo / "jobs/spark_example/spark/daily_event_counts.py"
    broken = script.read_text().replace("F.countDistinct(", "F.no_such_function(")
    with changed(script, broken):
        result = run_local(repo, "app=spark_example", check=False)

    assert result.returncode != 0
    assert errors(result.stderr) == [
        "run-local: data_pipelines.spark_example failed: daily_event_counts"
    ]
    assert "no_such_function" in result.stdout.split("--- log of daily_event_counts ---")[1]
    assert summary(result.stdout) == {
        "release": "success",
        "create_cluster_spark_example": "success",
        "wait_for_cluster_spark_example": "success",
        "daily_event_counts": "failed",
        "wait_for_daily_event_counts": "upstream_failed",
        "terminate_cluster_spark_example": "success",
    }


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ([], "run-local: missing app: make run-local app=<app> [date=YYYY-MM-DD] (apps: "),
        (["app=nope"], "run-local: app='nope': no such app in dags/data_pipelines/apps/"),
        (["app=k8s_example", "date=2026-02-30"], "run-local: date='2026-02-30': not a day"),
        (
            ["app=k8s_example", "date=2020-01-01"],
            "run-local: date=2020-01-01: before the start date of data_pipelines.k8s_example",
        ),
        (["app=`touch PWNED`"], "run-local: app='`touch PWNED`': no such app"),
        (
            ["app=k8s_example", "date=$$(touch PWNED)"],
            "run-local: date='$(touch PWNED)': not a day",
        ),
    ],
    ids=["no app", "unknown app", "impossible date", "before start", "backticks", "substitution"],
)
def test_bad_input_is_one_line(repo, arguments, error):
    result = run_local(repo, *arguments, check=False)
    assert result.returncode == 2, result.stderr
    [line] = errors(result.stderr)
    assert line.startswith(error), line
    assert "Traceback" not in result.stderr
    assert not (repo / "PWNED").exists(), "a value was run by the shell"


def test_make_help_lists_run_local(repo):
    out = run(["make", "help"], repo).stdout
    assert "make run-local    Run an app's DAG on this machine" in out


def test_a_new_app_runs_locally_out_of_the_box(repo):
    run(["make", "new-app", "name=churn", "pattern=k8s"], repo)
    out = run_local(repo, "app=churn").stdout
    assert f"data_pipelines.churn for {DAY}: success" in out
    assert len(results(repo, "churn", "score")) == 4


# --- one release per run, under real Airflow components --------------------------------------

RELEASE_A, RELEASE_B, RELEASE_C = "a" * 40, "b" * 40, "c" * 40
DAY_2 = "2026-02-01"
HYBRID = "data_pipelines.hybrid_example"
VARIABLE = "data_pipelines_docker_tag"
IN_REPO_ENV = ["uv", "run", "--locked", "--only-group", "airflow", "python"]
# Releases deployed to the local deployment bucket, by the deploy's own code, and the samples
# landed for DAY and DAY_2; argv[1]: {release: {script: code}}, the scripts a release breaks.
DEPLOY_RELEASES = f"""
import json, sys
sys.path.insert(0, "dags")
from scripts.deploy.artifacts import upload_release
from scripts.deploy.layout import load_environment
from scripts.run_local import LocalBucket, land_samples
from data_pipelines.local.paths import local_path
from data_pipelines.settings import load_settings

settings = load_settings("local")
for day in ("{DAY}", "{DAY_2}"):
    land_samples("hybrid_example", day, local_path(settings.DATA_BUCKET) / "landing")
for release, scripts in json.loads(sys.argv[1]).items():
    upload_release(load_environment("local"), release, LocalBucket())
    for script, code in scripts.items():
        deployed = local_path(settings.DEPLOYMENT_BUCKET) / release / "hybrid_example" / script
        deployed.write_text(code)
"""
# `make rerun` in the local environment, whose deployment bucket is a folder.
RERUN = """
import sys
sys.path.insert(0, "dags")
import scripts.deploy.cli as cli
from scripts.run_local import LocalBucket
cli.s3_client = lambda region: LocalBucket()
sys.exit(cli.main(["rerun", "local", *sys.argv[1:], "--api", "airflow"]))
"""


def deploy(repo: Path, releases: dict[str, dict[str, str]]) -> None:
    """Upload each release (`release: {script: code}`, the Spark scripts it breaks)."""
    run([*IN_REPO_ENV, "-c", DEPLOY_RELEASES, json.dumps(releases)], repo)


# sqlite gives up on a write after 5 s behind another component's transaction; Postgres, as
# production runs, waits. The scheduler, dag-processor and triggerer wait here as they would there.
# The api-server keeps the 5 s: it commits its audit log on its event loop (`action_logging`, an
# async dependency with a sync session), so a wait there stalls every request, including the
# commit that would free the lock, until sqlite gives up. Waiting 120 s stalled it past every
# client's retries; 5 s costs one HTTP 500, which the deploy, the task runner and `Airflow.call`
# retry.
SQLITE_PATIENCE = """import sys

CONNECT_ARGS = {} if "api-server" in sys.argv else {"timeout": 120}
"""


class Airflow:
    """`airflow standalone` (api-server, scheduler, dag-processor, triggerer; LocalExecutor,
    sqlite) on a free loopback port with a throwaway AIRFLOW_HOME, in the local environment
    (its `RUNTIME`: the local twins), parsing the hybrid example; driven through the REST API."""

    def __init__(self, repo: Path, home: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.repo = repo
        self.env = baked_env() | {
            "DATA_PIPELINES_ENV": "local",
            "PYTHONPATH": os.pathsep.join(map(str, (repo / "dags", repo, home))),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(repo / "dags/data_pipelines/apps/hybrid_example"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # Only the run the test triggers: unpausing the DAG schedules nothing.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "sqlite_patience.CONNECT_ARGS",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": "sqlite_patience.CONNECT_ARGS",
        }
        (home / "sqlite_patience.py").write_text(SQLITE_PATIENCE)
        self.log = home / "standalone.log"
        self.process: subprocess.Popen | None = None
        self.token: str | None = None

    def __enter__(self) -> Airflow:
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*IN_REPO_ENV, "-m", "airflow", "standalone"],
                cwd=self.repo,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.token = self.wait_for(lambda: self.call("GET", "/auth/token")["access_token"], 180)
        return self

    def __exit__(self, failure, *_) -> None:
        """Stop every process of the group (api-server, scheduler, dag-processor, triggerer,
        task workers), not only its leader; whatever is left after a minute is killed. A
        failing test shows the end of Airflow's log."""
        if failure is not None:
            print(f"airflow's log:\n{self.log.read_text()[-20000:]}")
        deadline = time.monotonic() + 60
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
            while time.monotonic() < deadline:
                self.process.poll()  # reaps the leader, which stays in the group until then
                os.killpg(self.process.pid, 0)  # raises once the group is empty
                time.sleep(0.5)
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        # S310: the URL is this test's own http://127.0.0.1 server.
        request = urllib.request.Request(self.url + path, data, headers, method=method)  # noqa: S310
        for wait in (2, 8, None):
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as error:
                # Still an OSError (wait_for's "not yet"), now saying what the server answered.
                failure = OSError(f"{method} {path}: HTTP {error.code} {error.read()[:2000]!r}")
                if error.code < 500 or wait is None:
                    raise failure from None
            time.sleep(wait)  # an HTTP 5xx: sqlite gave up (SQLITE_PATIENCE); ask again

    def wait_for(self, probe, seconds: float):
        """The first truthy answer of `probe` within `seconds` (errors count as not yet)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"airflow standalone exited:\n{self.log.read_text()[-5000:]}")
            try:
                if answer := probe():
                    return answer
            except OSError:
                pass
            time.sleep(1)
        pytest.fail(f"not within {seconds} s; airflow's log:\n{self.log.read_text()[-5000:]}")

    def set_release(self, release: str) -> None:
        """The deploy's own `set-release` (the Variable, then the team's EMR pool), run as the
        deploy workflow runs it."""
        self.deploy_command(
            "-m", "scripts.deploy", "set-release", "local", release, "--api", "airflow"
        )

    def deploy_command(self, *arguments: str) -> str:
        """A command of scripts/deploy, with the deploy's credentials: every user is an admin
        here, so any credentials get a token."""
        deployer = {"AIRFLOW_URL": self.url, "AIRFLOW_USERNAME": "deployer"}
        result = subprocess.run(
            [*IN_REPO_ENV, *arguments],
            cwd=self.repo,
            env=baked_env() | deployer | {"AIRFLOW_PASSWORD": "unchecked"},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def trigger(self, day: str) -> str:
        body = {"logical_date": f"{day}T00:00:00Z"}
        return self.call("POST", f"/api/v2/dags/{HYBRID}/dagRuns", body)["dag_run_id"]

    def xcom(self, run_id: str, task_id: str, key: str = "return_value"):
        path = f"{self.run_path(run_id)}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.call("GET", path)["value"]

    def run_path(self, run_id: str) -> str:
        return f"/api/v2/dags/{HYBRID}/dagRuns/{run_id}"

    def task(self, run_id: str, task_id: str) -> dict:
        return self.call("GET", f"{self.run_path(run_id)}/taskInstances/{task_id}")

    def finished(self, run_id: str) -> str | None:
        state = self.call("GET", self.run_path(run_id))["state"]
        return state if state in ("success", "failed") else None


def moment(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def test_a_run_keeps_its_release_until_make_rerun_moves_it_to_a_fix(repo, tmp_path):
    """Release A is live when the hybrid run starts; B goes live once the run's `release` task
    has pinned A, before any Spark step or container starts. Every task still runs A, and so
    do the tasks cleared afterwards, the `release` task included. B's postprocess is broken:
    a run of DAY_2 on B fails there. C, the fix, is deployed: `make rerun` reruns the failed
    tasks of that run on C, and the run keeps its history."""
    broken = {"postprocess.py": "raise SystemExit('release B ran')\n"}
    deploy(repo, {RELEASE_A: {}, RELEASE_B: broken, RELEASE_C: {}})
    with Airflow(repo, tmp_path) as airflow:
        airflow.wait_for(lambda: airflow.call("GET", f"/api/v2/dags/{HYBRID}"), 180)
        airflow.call("PATCH", f"/api/v2/dags/{HYBRID}", {"is_paused": False})
        airflow.set_release(RELEASE_A)
        run_id = airflow.trigger(DAY)

        airflow.wait_for(lambda: airflow.task(run_id, "release")["state"] == "success", 180)
        airflow.set_release(RELEASE_B)
        deployed_b = datetime.now(UTC)
        assert airflow.call("GET", f"/api/v2/variables/{VARIABLE}")["value"] == RELEASE_B

        state = airflow.wait_for(lambda: airflow.finished(run_id), 600)
        listed = airflow.call("GET", f"{airflow.run_path(run_id)}/taskInstances")
        states = {ti["task_id"]: ti["state"] for ti in listed["task_instances"]}
        assert state == "success", states
        xcom_path = f"{airflow.run_path(run_id)}/taskInstances/release/xcomEntries/return_value"
        assert airflow.call("GET", xcom_path)["value"] == RELEASE_A
        for task_id in states:
            ti = airflow.task(run_id, task_id)
            rendered = json.dumps(ti["rendered_fields"])
            assert RELEASE_B not in rendered, (task_id, rendered)
            if task_id in ("preprocess", "score", "postprocess"):
                assert RELEASE_A in rendered, (task_id, rendered)
                assert moment(ti["start_date"]) > deployed_b, f"{task_id} started before B"

        # Clearing the run's release task and a container job reruns them, on release A still.
        clear = {
            "dag_run_id": run_id,
            "task_ids": ["release", "score"],
            "only_failed": False,
            "dry_run": False,
        }
        airflow.call("POST", f"/api/v2/dags/{HYBRID}/clearTaskInstances", clear)
        airflow.wait_for(lambda: airflow.task(run_id, "score")["try_number"] == 2, 60)
        assert airflow.wait_for(lambda: airflow.finished(run_id), 300) == "success"
        assert airflow.call("GET", xcom_path)["value"] == RELEASE_A
        rerun = airflow.task(run_id, "score")
        assert rerun["state"] == "success"
        assert rerun["rendered_fields"]["image"].endswith(f":{RELEASE_A}")

        # B is live: a run of DAY_2 fails at postprocess. C, the fix, goes live; make rerun.
        failed_run = airflow.trigger(DAY_2)
        assert airflow.wait_for(lambda: airflow.finished(failed_run), 300) == "failed"
        assert airflow.task(failed_run, "postprocess")["state"] == "failed"
        airflow.set_release(RELEASE_C)
        out = airflow.deploy_command("-c", RERUN, HYBRID, failed_run)
        assert f"reruns on release {RELEASE_C}: postprocess, wait_for_postprocess" in out
        assert airflow.wait_for(lambda: airflow.finished(failed_run), 300) == "success"

        assert airflow.xcom(failed_run, "release") == RELEASE_C
        assert airflow.xcom(failed_run, "release", "reason").startswith("rerun asked at ")
        postprocess = airflow.task(failed_run, "postprocess")
        assert postprocess["try_number"] == 2
        assert RELEASE_C in json.dumps(postprocess["rendered_fields"])
        tries = airflow.call(
            "GET", f"{airflow.run_path(failed_run)}/taskInstances/postprocess/tries"
        )
        assert [t["state"] for t in tries["task_instances"]] == ["failed", "success"]
        # The cluster came up again for the step: Airflow cleared its setups with it.
        assert airflow.task(failed_run, "create_cluster_hybrid_example")["try_number"] == 2
        # What was not rerun stays as it ran, on B.
        preprocess = airflow.task(failed_run, "preprocess")
        assert preprocess["try_number"] == 1
        assert RELEASE_B in json.dumps(preprocess["rendered_fields"])


def test_a_run_that_times_out_or_is_marked_failed_mid_step_ends_its_cluster(repo, tmp_path):
    """How a run's cluster ends when the run does not end by itself, under real components:

    - it times out: the scheduler fails the run on its dagrun_timeout and skips its unfinished
      tasks, the teardown too; the DAG processor then runs the DAG's failure callback, which
      ends the cluster;
    - it is marked failed by hand: Airflow fails the running step and skips what is pending,
      but not the teardown, which then runs (and the run ends as its last tasks say).

    The local twin of EMR records who ended each cluster."""
    hanging = {"preprocess.py": "import time\ntime.sleep(600)\n"}
    deploy(repo, {RELEASE_A: hanging})
    dag_file = repo / "dags/data_pipelines/apps/hybrid_example/hybrid_example_dag.py"
    text = dag_file.read_text()
    schedule = '    schedule="0 2 * * *",'
    timeout = text.replace(schedule, f"{schedule}\n    dagrun_timeout=timedelta(seconds=40),")
    assert timeout != text

    def ended(run_id: str) -> dict:
        """The run's cluster, once it has ended, as the local twin of EMR recorded it."""
        clusters = repo / ".local-data/.emr-clusters"
        [record] = [
            json.loads(p.read_text()) for p in clusters.glob("*.json") if run_id in p.read_text()
        ]
        return record if record["State"] == "TERMINATED" else {}

    with changed(dag_file, timeout), Airflow(repo, tmp_path) as airflow:
        airflow.wait_for(lambda: airflow.call("GET", f"/api/v2/dags/{HYBRID}"), 180)
        airflow.call("PATCH", f"/api/v2/dags/{HYBRID}", {"is_paused": False})
        airflow.set_release(RELEASE_A)

        timed_out = airflow.trigger(DAY)
        airflow.wait_for(lambda: airflow.task(timed_out, "preprocess")["state"] == "running", 120)
        assert airflow.wait_for(lambda: airflow.finished(timed_out), 180) == "failed"
        assert airflow.task(timed_out, "terminate_cluster_hybrid_example")["state"] == "skipped"
        assert airflow.wait_for(lambda: ended(timed_out), 120)["EndedBy"] == (
            "the DAG's failure callback"
        )

        marked = airflow.trigger(DAY_2)
        airflow.wait_for(lambda: airflow.task(marked, "preprocess")["state"] == "running", 120)
        airflow.call("PATCH", airflow.run_path(marked), {"state": "failed"})
        assert airflow.wait_for(lambda: ended(marked), 120)["EndedBy"] == "the teardown"
        # Airflow then sets the run's state from its last tasks: skipped, so "success".
        assert airflow.wait_for(lambda: airflow.finished(marked), 60) == "success"
        assert airflow.task(marked, "preprocess")["state"] == "failed"
