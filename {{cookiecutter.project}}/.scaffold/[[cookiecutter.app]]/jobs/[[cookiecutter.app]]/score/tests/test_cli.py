"""The image's entrypoint, run as the container runs it: `python -m score ...`."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

PROJECT = Path(__file__).resolve().parent.parent
ORDERS = PROJECT / "tests" / "data"


def run(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "score", *args]
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)


def test_scores_local_orders_into_parquet(tmp_path):
    result_path = tmp_path / "scores"
    args = ("--source_path", str(ORDERS), "--result_path", str(result_path))
    result = run(*args, "--date", "2026-01-31")
    assert result.returncode == 0, result.stderr
    assert "wrote 3 customer scores" in result.stderr
    scores = pq.read_table(result_path).to_pylist()
    assert [row["customer_id"] for row in scores] == ["alice", "bob", "carol"]
    assert scores[0]["last_order_date"] == date(2026, 1, 30)


def test_a_rerun_replaces_the_previous_result(tmp_path):
    result_path = tmp_path / "scores"
    args = ("--source_path", str(ORDERS), "--result_path", str(result_path))
    assert run(*args, "--date", "2026-01-31").returncode == 0
    assert run(*args, "--date", "2025-12-31").returncode == 0
    assert [path.name for path in result_path.iterdir()] == ["part-0.parquet"]
    assert [row["customer_id"] for row in pq.read_table(result_path).to_pylist()] == ["bob"]


def test_accepts_file_uris(tmp_path):
    result = run(
        "--source_path",
        ORDERS.as_uri(),
        "--result_path",
        (tmp_path / "scores").as_uri(),
        "--date",
        "2026-01-31",
    )
    assert result.returncode == 0, result.stderr
    assert pq.read_table(tmp_path / "scores").num_rows == 3


def test_missing_orders_fail_with_the_location(tmp_path):
    missing = tmp_path / "nowhere"
    args = ("--source_path", str(missing), "--result_path", str(tmp_path / "scores"))
    result = run(*args, "--date", "2026-01-31")
    assert result.returncode == 1
    assert f"no orders at {missing}" in result.stderr


def test_a_bad_date_is_a_usage_error(tmp_path):
    args = ("--source_path", str(ORDERS), "--result_path", str(tmp_path / "scores"))
    result = run(*args, "--date", "31/01/2026")
    assert result.returncode == 2
    assert "--date" in result.stderr and "31/01/2026" in result.stderr
