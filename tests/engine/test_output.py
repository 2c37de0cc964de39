"""The shape of the output: the documented columns, one row per (company,
customer) with a row on or before the reference day, also for no input."""

import pandas as pd

from retention_engine import METRIC_COLUMNS, TRANSACTION_COLUMNS, compute_metrics, render_reasons

from engine_scenario import AS_OF


def tx(partner, day, amount, visit=True, category=0, company=1):
    """One transaction row, ``day`` days before AS_OF."""
    date = AS_OF - pd.Timedelta(days=day)
    return dict(company_id=company, partner_id=partner, date=date, amount=amount, is_visit=visit, category_id=category)


def test_the_documented_columns():
    assert METRIC_COLUMNS == [
        "company_id", "partner_id", "first_order_date", "last_order_date", "order_count", "revenue",
        "avg_ticket", "cadence_days", "days_since_last", "next_order_date", "status", "trend_pct",
        "group_top_pct", "group_tier", "profile", "alert", "action",
        "lifetime_visits", "visits_365", "at_risk_threshold", "overdue_ratio", "group_key",
    ]
    assert TRANSACTION_COLUMNS == ["company_id", "partner_id", "date", "amount", "is_visit", "category_id"]


def test_no_transactions_give_an_empty_table_with_the_columns():
    empty = pd.DataFrame({column: [] for column in TRANSACTION_COLUMNS})
    result = compute_metrics(empty, AS_OF)
    assert list(result.columns) == METRIC_COLUMNS
    assert len(result) == 0
    assert len(render_reasons(result)) == 0


def test_only_later_transactions_give_an_empty_table_with_the_columns():
    frame = pd.DataFrame([tx(1, -1, 100), tx(2, -30, 50)], columns=TRANSACTION_COLUMNS)
    result = compute_metrics(frame, AS_OF)
    assert list(result.columns) == METRIC_COLUMNS
    assert len(result) == 0


def test_one_row_per_company_and_customer_in_the_documented_order():
    # Partner 2 of company 1 (three rows), partner 1 of company 1, partner 1 of company 2.
    frame = pd.DataFrame(
        [tx(2, 30, 10), tx(2, 20, 10), tx(2, 20, -5, visit=False), tx(1, 10, 10), tx(1, 10, 10, company=2)],
        columns=TRANSACTION_COLUMNS,
    )
    result = compute_metrics(frame, AS_OF)
    assert list(result.columns) == METRIC_COLUMNS
    assert sorted(zip(result["company_id"], result["partner_id"])) == [(1, 1), (1, 2), (2, 1)]
    assert list(result.index) == [0, 1, 2]


def test_extra_input_columns_are_ignored_and_the_input_is_left_alone():
    frame = pd.DataFrame([tx(1, 10, 100)], columns=TRANSACTION_COLUMNS).assign(order_ref="SO042")
    before = frame.copy()
    result = compute_metrics(frame, AS_OF)
    assert list(result.columns) == METRIC_COLUMNS
    pd.testing.assert_frame_equal(frame, before)
