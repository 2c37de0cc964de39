"""The shape of the output: the documented columns, one row per (company,
customer) with a row on or before the reference day, also for no input."""

import pandas as pd
from engine_scenario import AS_OF, ago, tx
from retention_engine import (
    METRIC_COLUMNS,
    TRANSACTION_COLUMNS,
    compute_metrics,
    render_reasons,
)


def test_every_documented_column_is_produced_and_filled():
    # Partner 1, group "a": visits of 100 at 100, 70 and 40 days ago.
    # Window (730 days): 3 orders, 300, ticket 100. Gaps 30 and 30: cadence
    # 30, next order 40 - 30 = 10 days ago. Not new (first visit 100 > 90
    # days ago); threshold max(1.5 x 30, 30) = 45 >= 40 days: active;
    # overdue 40 / 30. Quarter trend: (as_of - 91, as_of] 200 against 100
    # before: +100 %. Group "a" with partner 2 (100): r = 1 of 2 -> 50 %, top
    # 50 %. 3 visits in 365 days < 4, no category: sporadic -> monitor,
    # seasonal promotion.
    frame = pd.DataFrame(
        [tx(1, 100, 100), tx(1, 70, 100), tx(1, 40, 100), tx(2, 10, 100)],
        columns=TRANSACTION_COLUMNS,
    )
    groups = pd.DataFrame(
        {"company_id": [1, 1], "partner_id": [1, 2], "group_key": ["a", "a"]}
    )
    result = compute_metrics(frame, AS_OF, groups=groups)
    assert list(result.columns) == METRIC_COLUMNS
    row = result[result["partner_id"] == 1].iloc[0]
    assert row.to_dict() == {
        "company_id": 1,
        "partner_id": 1,
        "first_order_date": ago(100),
        "last_order_date": ago(40),
        "visit_count": 3,
        "revenue": 300,
        "avg_ticket": 100,
        "cadence_days": 30,
        "days_since_last": 40,
        "next_order_date": ago(10),
        "status": "active",
        "overdue": True,  # next order expected 10 days ago
        "trend_pct": 100,
        "group_top_pct": 50,
        "group_tier": "top50",
        "profile": "sporadic",
        "alert": "monitor",
        "action": "seasonal_promo",
        "lifetime_visits": 3,
        "visits_365": 3,
        "at_risk_threshold": 45,
        "overdue_ratio": 40 / 30,
        "group_key": "a",
        "top_category_share": 0.0,
    }
    assert row.notna().all()


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
    # Partner 2 of company 1 (three rows), partner 1 of company 1, partner 1 of
    # company 2.
    frame = pd.DataFrame(
        [
            tx(2, 30, 10),
            tx(2, 20, 10),
            tx(2, 20, -5, visit=False),
            tx(1, 10, 10),
            tx(1, 10, 10, company=2),
        ],
        columns=TRANSACTION_COLUMNS,
    )
    result = compute_metrics(frame, AS_OF)
    assert list(result.columns) == METRIC_COLUMNS
    assert sorted(zip(result["company_id"], result["partner_id"], strict=False)) == [
        (1, 1),
        (1, 2),
        (2, 1),
    ]
    assert list(result.index) == [0, 1, 2]


def test_extra_input_columns_are_ignored_and_the_input_is_left_alone():
    frame = pd.DataFrame([tx(1, 10, 100)], columns=TRANSACTION_COLUMNS).assign(
        order_ref="SO042"
    )
    before = frame.copy()
    result = compute_metrics(frame, AS_OF)
    assert list(result.columns) == METRIC_COLUMNS
    pd.testing.assert_frame_equal(frame, before)
