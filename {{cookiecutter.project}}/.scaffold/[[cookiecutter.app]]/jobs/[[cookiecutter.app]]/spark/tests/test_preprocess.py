import csv
import json
from datetime import date, datetime

import pytest

import preprocess as job

DAY = "2026-01-31"
RAW = [
    # order_id, customer_id, ordered_at, amount, status
    ("o1", "alice", "2026-01-02 10:00:00", 120.0, "paid"),
    ("o2", " Alice ", "2026-01-30 09:00:00", 80.499, "paid"),
    ("o2", " Alice ", "2026-01-30 09:00:00", 80.499, "paid"),  # delivered twice
    ("o3", "bob", "2026-01-31 23:59:59", 40.0, None),
    ("o4", "bob", "2026-01-15 12:00:00", 55.0, "cancelled"),
    ("o5", "carol", "2026-01-20 08:00:00", 0.0, "paid"),  # nothing to score
    ("o6", "", "2026-01-20 08:00:00", 10.0, "paid"),  # no customer
    ("o7", "dave", "2026-02-01 00:00:00", 99.0, "paid"),  # after the run's day
]


@pytest.fixture
def raw(spark):
    rows = [(o, c, datetime.fromisoformat(t), a, s) for o, c, t, a, s in RAW]
    return spark.createDataFrame(rows, job.RAW_ORDERS_SCHEMA)


def test_keeps_each_valid_order_once_with_a_clean_customer(raw):
    clean = job.clean_orders(raw, DAY)
    assert clean.columns == ["order_id", "customer_id", "order_date", "amount"]
    assert sorted(tuple(row) for row in clean.collect()) == [
        ("o1", "alice", date(2026, 1, 2), 120.0),
        ("o2", "alice", date(2026, 1, 30), 80.5),
        ("o3", "bob", date(2026, 1, 31), 40.0),
    ]


def test_main_reads_json_lines_and_writes_csv_with_a_header(spark, tmp_path):
    source = tmp_path / "orders_raw"
    source.mkdir()
    lines = [
        {"order_id": o, "customer_id": c, "ordered_at": t, "amount": a, "status": s}
        for o, c, t, a, s in RAW
    ]
    (source / "part-0.json").write_text("\n".join(json.dumps(line) for line in lines))
    target = tmp_path / "clean"
    job.main(["--date", DAY, "--input_path", str(source), "--output_path", str(target)])
    rows = [
        row
        for part in sorted(target.glob("part-*.csv"))
        for row in csv.DictReader(part.read_text().splitlines())
    ]
    assert sorted(row["order_id"] for row in rows) == ["o1", "o2", "o3"]
    assert {row["customer_id"] for row in rows} == {"alice", "bob"}
