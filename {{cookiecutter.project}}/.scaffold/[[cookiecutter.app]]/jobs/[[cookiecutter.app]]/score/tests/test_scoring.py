from datetime import date

import pyarrow as pa
from score.scoring import ORDERS, score_customers


def orders(*rows: tuple[str, str, str, float]) -> pa.Table:
    columns = ("order_id", "customer_id", "order_date", "amount")
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    for record in records:
        record["order_date"] = date.fromisoformat(record["order_date"])
    return pa.Table.from_pylist(records, schema=ORDERS)


def test_one_row_per_customer_recent_big_spenders_first():
    scores = score_customers(
        orders(
            ("1", "old", "2025-12-02", 100.0),
            ("2", "new", "2026-01-31", 60.0),
            ("3", "new", "2026-01-01", 40.0),
        ),
        date(2026, 1, 31),
    ).to_pylist()
    assert [row["customer_id"] for row in scores] == ["new", "old"]
    new, old = scores
    assert (new["orders"], new["revenue"], new["days_since_last_order"]) == (2, 100.0, 0)
    assert new["score"] == 100.0
    assert old["days_since_last_order"] == 60
    assert old["score"] == 25.0  # two half-lives


def test_orders_after_the_date_are_ignored():
    history = orders(("1", "a", "2026-01-10", 10.0), ("2", "a", "2026-02-10", 500.0))
    (row,) = score_customers(history, date(2026, 1, 31)).to_pylist()
    assert (row["orders"], row["revenue"], row["last_order_date"]) == (1, 10.0, date(2026, 1, 10))


def test_no_orders_gives_no_scores():
    scores = score_customers(orders(), date(2026, 1, 31))
    assert scores.num_rows == 0
    assert "score" in scores.column_names
