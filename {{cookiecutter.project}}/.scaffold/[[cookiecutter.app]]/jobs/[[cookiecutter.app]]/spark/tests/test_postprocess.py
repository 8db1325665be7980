from datetime import date

import pytest

import postprocess as job

DAY = "2026-01-31"
SCORES = [
    # customer_id, orders, revenue, last_order_date, days_since_last_order, score
    ("alice", 2, 200.5, date(2026, 1, 30), 1, 195.89),
    ("carol", 1, 15.25, date(2026, 1, 31), 0, 15.25),
    ("bob", 1, 400.0, date(2025, 12, 1), 61, 97.76),
    ("erin", 3, 90.0, date(2025, 9, 1), 152, 2.72),
]
SCHEMA = (
    "customer_id STRING, orders BIGINT, revenue DOUBLE, last_order_date DATE, "
    "days_since_last_order INT, score DOUBLE"
)


@pytest.fixture
def scores(spark):
    return spark.createDataFrame(SCORES, SCHEMA)


def test_one_row_per_segment_by_recency(scores):
    summary = job.segment_summary(scores, DAY)
    assert summary.columns == ["segment", "customers", "revenue", "average_score", "as_of"]
    as_of = date(2026, 1, 31)
    assert sorted(tuple(row) for row in summary.collect()) == [
        ("active", 2, 215.75, 105.57, as_of),
        ("at_risk", 1, 400.0, 97.76, as_of),
        ("lapsed", 1, 90.0, 2.72, as_of),
    ]


def test_main_reads_and_writes_parquet(spark, scores, tmp_path):
    source, target = tmp_path / "scores", tmp_path / "summary"
    scores.write.parquet(str(source))
    job.main(["--date", DAY, "--input_path", str(source), "--output_path", str(target)])
    written = spark.read.parquet(str(target))
    assert sorted(row.segment for row in written.collect()) == ["active", "at_risk", "lapsed"]
