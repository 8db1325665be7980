"""The business logic: one row per customer, scored from their orders up to a date."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

ORDERS = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("order_date", pa.date32()),
        ("amount", pa.float64()),
    ]
)
# A customer's score halves for every this many days since their last order.
HALF_LIFE_DAYS = 30


def score_customers(orders: pa.Table, as_of: date) -> pa.Table:
    """Orders, revenue, days since the last order and a score per customer, best first.

    score = revenue * 0.5 ** (days since last order / HALF_LIFE_DAYS): recent, big spenders
    first. Orders after `as_of` are ignored, so a rerun for a past date gives the same result.
    """
    known = orders.filter(pc.field("order_date") <= pa.scalar(as_of, pa.date32()))
    per_customer = known.group_by("customer_id").aggregate(
        [("order_id", "count"), ("amount", "sum"), ("order_date", "max")]
    )
    last_order = per_customer["order_date_max"]
    idle_days = pc.days_between(last_order, pa.scalar(as_of, pa.date32()))
    revenue = pc.round(per_customer["amount_sum"], 2)
    decay = pc.power(0.5, pc.divide(pc.cast(idle_days, pa.float64()), HALF_LIFE_DAYS))
    scores = pa.table(
        {
            "customer_id": per_customer["customer_id"],
            "orders": per_customer["order_id_count"],
            "revenue": revenue,
            "last_order_date": last_order,
            "days_since_last_order": idle_days,
            "score": pc.round(pc.multiply(revenue, decay), 2),
        }
    )
    return scores.sort_by([("score", "descending"), ("customer_id", "ascending")])
