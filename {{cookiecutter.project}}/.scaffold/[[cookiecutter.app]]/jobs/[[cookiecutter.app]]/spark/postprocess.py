"""Summarise the customer scores into segments: one row per segment, as parquet.

    spark-submit postprocess.py --date 2026-01-31 \\
        --input_path s3://<data>/<package>/<dag_id>/score/2026-01-31 \\
        --output_path s3://<data>/<package>/<dag_id>/postprocess/2026-01-31

The input is the scoring job's output (customer_id, orders, revenue, last_order_date,
days_since_last_order, score). Each customer falls in one segment by recency: `active`
(ordered within 30 days), `at_risk` (31 to 90 days) or `lapsed`. The output folder is
overwritten, so a rerun of the same day replaces its result.
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

ACTIVE_DAYS = 30
AT_RISK_DAYS = 90


def segment_summary(scores: DataFrame, day: str) -> DataFrame:
    """Customers, revenue and average score per segment, as of `day`."""
    idle = F.col("days_since_last_order")
    segment = (
        F.when(idle <= ACTIVE_DAYS, "active")
        .when(idle <= AT_RISK_DAYS, "at_risk")
        .otherwise("lapsed")
    )
    return (
        scores.groupBy(segment.alias("segment"))
        .agg(
            F.count("*").alias("customers"),
            F.round(F.sum("revenue"), 2).alias("revenue"),
            F.round(F.avg("score"), 2).alias("average_score"),
        )
        .withColumn("as_of", F.lit(day).cast("date"))
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, help="the day of the run, YYYY-MM-DD")
    parser.add_argument("--input_path", required=True, help="customer scores (parquet)")
    parser.add_argument("--output_path", required=True, help="where the summary goes (parquet)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spark = SparkSession.builder.appName(f"postprocess {args.date}").getOrCreate()
    scores = spark.read.parquet(args.input_path)
    segment_summary(scores, args.date).write.mode("overwrite").parquet(args.output_path)


if __name__ == "__main__":
    main()
