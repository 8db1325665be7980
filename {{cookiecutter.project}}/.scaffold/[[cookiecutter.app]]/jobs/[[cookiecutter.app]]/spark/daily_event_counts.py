"""Daily event counts: one day of raw events in, one row per event type out, as parquet.

    spark-submit daily_event_counts.py --date 2026-01-31 \\
        --input_path s3://<data>/landing/events/2026-01-31 \\
        --output_path s3://<data>/<package>/<dag_id>/daily_event_counts/2026-01-31

The input is JSON lines (event_id, user_id, event_type, event_time). The output folder is
overwritten, so a rerun of the same day replaces its result. The transformation is the pure
function `daily_event_counts`, tested locally in tests/.
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

EVENTS_SCHEMA = "event_id STRING, user_id STRING, event_type STRING, event_time TIMESTAMP"


def daily_event_counts(events: DataFrame, day: str) -> DataFrame:
    """Per event type on `day`: events, distinct users, first and last event time.

    Only events of `day` count (a day's folder also holds late arrivals of the day before),
    and an event delivered twice (same event_id) counts once.
    """
    event_date = F.to_date("event_time")
    return (
        events.where(event_date == F.lit(day).cast("date"))
        .dropDuplicates(["event_id"])
        .groupBy(event_date.alias("event_date"), "event_type")
        .agg(
            F.count("*").alias("events"),
            F.countDistinct("user_id").alias("users"),
            F.min("event_time").alias("first_event_at"),
            F.max("event_time").alias("last_event_at"),
        )
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, help="the day to count, YYYY-MM-DD")
    parser.add_argument("--input_path", required=True, help="the day's raw events (JSON lines)")
    parser.add_argument("--output_path", required=True, help="where the counts go (parquet)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spark = SparkSession.builder.appName(f"daily_event_counts {args.date}").getOrCreate()
    events = spark.read.schema(EVENTS_SCHEMA).json(args.input_path)
    daily_event_counts(events, args.date).write.mode("overwrite").parquet(args.output_path)


if __name__ == "__main__":
    main()
