"""The job's command line: where to read, where to write, and as of which date."""

from __future__ import annotations

import argparse
import logging
from datetime import date

from score.heartbeat import heartbeat
from score.scoring import ORDERS, score_customers
from score.storage import read_csv, write_parquet

HEARTBEAT_SECONDS = 60
log = logging.getLogger("score")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="score", description=__doc__)
    parser.add_argument(
        "--source_path", required=True, help="orders: a folder of CSV files (path or s3:// URI)"
    )
    parser.add_argument(
        "--result_path", required=True, help="where to write the scores as Parquet (replaced)"
    )
    parser.add_argument(
        "--date", required=True, type=date.fromisoformat, help="score as of this day (YYYY-MM-DD)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with heartbeat(HEARTBEAT_SECONDS):
        try:
            orders = read_csv(args.source_path, ORDERS)
        except FileNotFoundError:
            log.error("no orders at %s", args.source_path)
            return 1
        log.info("read %d orders from %s", orders.num_rows, args.source_path)
        scores = score_customers(orders, args.date)
        write_parquet(scores, args.result_path)
    log.info("wrote %d customer scores to %s", scores.num_rows, args.result_path)
    return 0
