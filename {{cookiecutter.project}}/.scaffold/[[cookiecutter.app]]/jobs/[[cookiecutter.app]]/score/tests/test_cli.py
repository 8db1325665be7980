"""The job's command line: once through the image's entrypoint, as the container runs it
(`python -m score ...`); the rest call `main` in this process, as starting Python for each would
cost more than the test."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from score.cli import main

PROJECT = Path(__file__).resolve().parent.parent
ORDERS = PROJECT / "tests" / "data"


def score_orders(source_path: Path | str, result_path: Path | str, day: str = "2026-01-31") -> int:
    return main(
        ["--source_path", str(source_path), "--result_path", str(result_path), "--date", day]
    )


def test_the_entrypoint_scores_local_orders_into_parquet(tmp_path):
    result_path = tmp_path / "scores"
    command = [sys.executable, "-m", "score", "--source_path", str(ORDERS)]
    command += ["--result_path", str(result_path), "--date", "2026-01-31"]
    result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "wrote 3 customer scores" in result.stderr
    scores = pq.read_table(result_path).to_pylist()
    assert [row["customer_id"] for row in scores] == ["alice", "bob", "carol"]
    assert scores[0]["last_order_date"] == date(2026, 1, 30)


def test_a_rerun_replaces_the_previous_result(tmp_path):
    result_path = tmp_path / "scores"
    assert score_orders(ORDERS, result_path) == 0
    assert score_orders(ORDERS, result_path, "2025-12-31") == 0
    assert [path.name for path in result_path.iterdir()] == ["part-0.parquet"]
    assert [row["customer_id"] for row in pq.read_table(result_path).to_pylist()] == ["bob"]


def test_accepts_file_uris(tmp_path):
    assert score_orders(ORDERS.as_uri(), (tmp_path / "scores").as_uri()) == 0
    assert pq.read_table(tmp_path / "scores").num_rows == 3


def test_missing_orders_fail_with_the_location(tmp_path, caplog):
    missing = tmp_path / "nowhere"
    assert score_orders(missing, tmp_path / "scores") == 1
    assert f"no orders at {missing}" in caplog.text


def test_a_bad_date_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as usage_error:
        score_orders(ORDERS, tmp_path / "scores", "31/01/2026")
    assert usage_error.value.code == 2
    message = capsys.readouterr().err
    assert "--date" in message and "31/01/2026" in message
