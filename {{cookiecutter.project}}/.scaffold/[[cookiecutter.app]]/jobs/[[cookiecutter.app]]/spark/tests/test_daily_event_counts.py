import json
from datetime import datetime

import pytest

import daily_event_counts as job

DAY = "2026-01-31"
EVENTS = [
    # event_id, user_id, event_type, event_time
    ("e1", "u1", "view", "2026-01-31 00:00:00"),
    ("e2", "u2", "view", "2026-01-31 12:30:00"),
    ("e3", "u1", "view", "2026-01-31 23:59:59"),
    ("e4", "u1", "purchase", "2026-01-31 13:00:00"),
    ("e4", "u1", "purchase", "2026-01-31 13:00:00"),  # delivered twice
    ("e5", "u3", "view", "2026-01-30 23:59:59"),  # late arrival of the day before
    ("e6", "u3", "purchase", "2026-02-01 00:00:00"),  # already the next day
]


def as_rows(frame):
    return sorted(tuple(row) for row in frame.collect())


@pytest.fixture
def events(spark):
    rows = [(i, u, t, datetime.fromisoformat(ts)) for i, u, t, ts in EVENTS]
    return spark.createDataFrame(rows, job.EVENTS_SCHEMA)


def test_counts_events_and_users_per_type_of_the_day(events):
    counts = job.daily_event_counts(events, DAY)
    assert counts.columns == [
        "event_date",
        "event_type",
        "events",
        "users",
        "first_event_at",
        "last_event_at",
    ]
    day = datetime.fromisoformat(DAY).date()
    assert as_rows(counts) == [
        (day, "purchase", 1, 1, datetime(2026, 1, 31, 13), datetime(2026, 1, 31, 13)),
        (day, "view", 3, 2, datetime(2026, 1, 31), datetime(2026, 1, 31, 23, 59, 59)),
    ]


def test_a_day_without_events_gives_no_rows(events):
    assert job.daily_event_counts(events, "2026-03-01").count() == 0


def test_main_reads_json_lines_and_writes_parquet(spark, tmp_path):
    source = tmp_path / "landing" / DAY
    source.mkdir(parents=True)
    lines = [
        {"event_id": i, "user_id": u, "event_type": t, "event_time": ts.replace(" ", "T") + "Z"}
        for i, u, t, ts in EVENTS
    ]
    (source / "part-0.json").write_text("\n".join(json.dumps(line) for line in lines))
    output = tmp_path / "daily_event_counts" / DAY
    args = ["--date", DAY, "--input_path", str(source), "--output_path", str(output)]

    job.main(args)
    job.main(args)  # a rerun replaces the day's result

    written = spark.read.parquet(str(output))
    assert [
        (row.event_type, row.events, row.users) for row in written.orderBy("event_type").collect()
    ] == [
        ("purchase", 1, 1),
        ("view", 3, 2),
    ]


def test_missing_argument_is_named(capsys):
    with pytest.raises(SystemExit):
        job.parse_args(["--date", DAY, "--input_path", "in"])
    assert "--output_path" in capsys.readouterr().err
