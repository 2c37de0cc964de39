"""A visit is a distinct calendar day with at least one order of the customer;
refunds move money but are not visits; rows after the reference day do not exist."""

import pandas as pd
from engine_scenario import AS_OF, ago, customer, metrics, tx
from retention_engine import RetentionSettings


def test_two_orders_on_one_day_are_one_visit_and_their_amounts_add_up():
    # 20 days ago: orders of 40 and 60 (one visit of 100); 10 days ago: 50.
    # 2 visits, revenue 150, avg ticket 150 / 2 = 75, one gap of 10 days.
    row = customer(tx(1, 20, 40), tx(1, 20, 60), tx(1, 10, 50))
    assert row.visit_count == 2
    assert row.lifetime_visits == 2
    assert row.revenue == 150
    assert row.avg_ticket == 75
    assert row.cadence_days == 10


def test_the_time_of_day_does_not_split_a_day():
    # A morning and an evening order on 1 June are one visit on 1 June.
    row = customer(tx(1, "2025-06-01 09:15", 30), tx(1, "2025-06-01 18:40", 20))
    assert row.visit_count == 1
    assert row.revenue == 50
    assert row.first_order_date == pd.Timestamp("2025-06-01")
    assert row.last_order_date == pd.Timestamp("2025-06-01")
    assert row.days_since_last == 29


def test_a_refund_lowers_the_revenue_but_is_no_visit():
    # Visit of 100 thirty days ago, refund of 30 twenty days ago:
    # 1 visit (the last one is still 30 days ago), revenue 70, avg ticket 70.
    row = customer(tx(1, 30, 100), tx(1, 20, -30, visit=False))
    assert (row.visit_count, row.lifetime_visits) == (1, 1)
    assert (row.revenue, row.avg_ticket) == (70, 70)
    assert (row.last_order_date, row.days_since_last) == (ago(30), 30)


def test_a_refund_on_a_visit_day_keeps_the_visit():
    # An order of 100 fully refunded on the same day: still one visit, revenue 0.
    row = customer(tx(1, 10, 100), tx(1, 10, -100, visit=False))
    assert row.visit_count == 1
    assert row.revenue == 0
    assert row.last_order_date == ago(10)


def test_a_day_with_only_refunds_is_no_visit():
    # Visits 40 and 20 days ago, a refund alone 30 days ago: 2 visits, and the
    # gap is 20 days (the refund day does not split it into 10 + 10).
    row = customer(tx(1, 40, 100), tx(1, 30, -10, visit=False), tx(1, 20, 100))
    assert row.visit_count == 2
    assert row.revenue == 190
    assert row.cadence_days == 20


def test_a_customer_with_only_refunds_has_a_row_without_visit_figures():
    # Partner 1: a refund of 50 and nothing else. It exists (revenue -50) but
    # has no visit, so no dates, no rhythm, no status, no rank, no profile.
    # (Partner 2, an ordinary customer, is computed alongside.)
    row = customer(tx(1, 10, -50, visit=False), tx(2, 10, 100))
    assert row.revenue == -50
    assert row.visit_count == 0
    assert row.lifetime_visits == 0
    assert row.visits_365 == 0
    without = (
        "first_order_date last_order_date avg_ticket cadence_days days_since_last "
        "next_order_date group_top_pct status group_tier profile alert action"
    )
    for figure in without.split():
        assert pd.isna(row[figure]), figure


def test_a_batch_of_refund_only_customers_is_computed():
    # A partial recompute of one customer who only has a refund: one row, no visit.
    row = customer(tx(1, 10, -50, visit=False))
    assert row.revenue == -50
    assert row.visit_count == 0
    assert pd.isna(row.status)


def test_rows_after_the_reference_day_are_ignored():
    # 10 days ago: 100. Tomorrow: an order of 500 and a refund of 20, which
    # have not happened yet as of AS_OF.
    row = customer(tx(1, 10, 100), tx(1, -1, 500), tx(1, -1, -20, visit=False))
    assert (row.visit_count, row.lifetime_visits, row.revenue) == (1, 1, 100)
    assert (row.last_order_date, row.days_since_last) == (ago(10), 10)


def test_a_customer_with_only_later_rows_is_not_in_the_output():
    result = metrics(tx(1, 10, 100), tx(2, -5, 300))
    assert list(result.index) == [(1, 1)]


def test_an_order_later_on_the_reference_day_counts():
    # as_of carries a time of day; it is the day that matters.
    row = customer(
        tx(1, "2025-06-30 23:59", 80), as_of=pd.Timestamp("2025-06-30 08:00")
    )
    assert row.visit_count == 1
    assert row.days_since_last == 0
    assert row.last_order_date == AS_OF


def test_the_reference_day_may_be_given_as_text():
    row = customer(tx(1, 10, 100), as_of="2025-06-30")
    assert row.days_since_last == 10


def test_first_and_last_order_dates_are_over_the_whole_history():
    # Look-back of 30 days: the visit 400 days ago is outside the window but is
    # still the customer's first order.
    row = customer(
        tx(1, 400, 70), tx(1, 10, 30), settings=RetentionSettings(lookback_days=30)
    )
    assert row.first_order_date == ago(400)
    assert row.last_order_date == ago(10)
    assert row.lifetime_visits == 2
    assert row.visit_count == 1
