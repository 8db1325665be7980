"""`make run-local` in a baked repository: every example runs its real DAG end to end on local
Spark and local processes and computes the expected results from its sample data; a failing
task fails the run, naming the task; bad input is one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import bake, commit_all, run

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
    assert set(summary(out).values()) == {"success"} and len(summary(out)) == 8
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
