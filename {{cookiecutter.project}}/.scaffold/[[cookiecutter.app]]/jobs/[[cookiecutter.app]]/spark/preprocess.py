"""Clean one day of raw orders for the scoring job: one valid row per order, as CSV.

    spark-submit preprocess.py --date 2026-01-31 \\
        --input_path s3://<data>/landing/orders_raw/2026-01-31 \\
        --output_path s3://<data>/<package>/<dag_id>/preprocess/2026-01-31

The input is the shop's raw export, JSON lines (order_id, customer_id, ordered_at, amount,
status): orders delivered twice, cancelled orders, amounts that are not positive and
customer ids in mixed case all occur. The output is the scoring job's input: CSV with a
header (order_id, customer_id, order_date, amount), overwritten on a rerun.
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

RAW_ORDERS_SCHEMA = (
    "order_id STRING, customer_id STRING, ordered_at TIMESTAMP, amount DOUBLE, status STRING"
)


def clean_orders(raw: DataFrame, day: str) -> DataFrame:
    """Orders placed up to `day`, once each, not cancelled, with a customer and an amount > 0."""
    customer = F.lower(F.trim("customer_id"))
    return (
        raw.where(F.to_date("ordered_at") <= F.lit(day).cast("date"))
        .where(F.coalesce(F.col("status"), F.lit("")) != "cancelled")
        .where((F.col("amount") > 0) & (F.length(customer) > 0))
        .dropDuplicates(["order_id"])
        .select(
            "order_id",
            customer.alias("customer_id"),
            F.to_date("ordered_at").alias("order_date"),
            F.round("amount", 2).alias("amount"),
        )
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, help="the day of the run, YYYY-MM-DD")
    parser.add_argument("--input_path", required=True, help="raw orders (JSON lines)")
    parser.add_argument("--output_path", required=True, help="where clean orders go (CSV)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spark = SparkSession.builder.appName(f"preprocess {args.date}").getOrCreate()
    raw = spark.read.schema(RAW_ORDERS_SCHEMA).json(args.input_path)
    clean = clean_orders(raw, args.date)
    clean.write.mode("overwrite").option("header", True).csv(args.output_path)


if __name__ == "__main__":
    main()
