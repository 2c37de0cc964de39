"""The look-back window [as_of - lookback_days, as_of], both ends included,
bounds the visit count, the revenue and the average ticket; 0 = whole history."""

import pandas as pd
from engine_scenario import ago, customer, metrics, tx
from retention_engine import RetentionSettings


def lookback(days):
    return RetentionSettings(lookback_days=days)


def test_both_ends_of_the_window_are_included():
    # Look-back 30: visits 31 days ago (1000, outside), 30 days ago (100, first
    # day of the window) and today (10, last day of the window).
    # visit_count 2, revenue 110, avg ticket 55.
    row = customer(tx(1, 31, 1000), tx(1, 30, 100), tx(1, 0, 10), settings=lookback(30))
    assert row.visit_count == 2
    assert row.revenue == 110
    assert row.avg_ticket == 55


def test_the_default_window_is_730_days():
    # 731 days ago is outside, 730 days ago is the first day of the window.
    row = customer(tx(1, 731, 1000), tx(1, 730, 100), tx(1, 1, 20))
    assert row.visit_count == 2
    assert row.revenue == 120


def test_lookback_zero_uses_the_whole_history():
    # Visits 3000 days (about 8 years) and 10 days ago: both count.
    row = customer(tx(1, 3000, 200), tx(1, 10, 100), settings=lookback(0))
    assert row.visit_count == 2
    assert row.revenue == 300
    assert row.avg_ticket == 150
    assert row.cadence_days == 2990


def test_a_refund_inside_the_window_of_a_visit_outside_it():
    # Look-back 30: the visit 40 days ago is outside, its refund 20 days ago is
    # inside. visit_count 0, revenue -30, no average ticket; the last order is
    # still 40 days ago. (Partner 2, with a visit in the window, is computed alongside.)
    row = customer(
        tx(1, 40, 100), tx(1, 20, -30, visit=False), tx(2, 5, 10), settings=lookback(30)
    )
    assert row.visit_count == 0
    assert row.revenue == -30
    assert pd.isna(row.avg_ticket)
    assert row.days_since_last == 40
    assert row.last_order_date == ago(40)


def test_a_customer_with_visits_only_before_the_window():
    # Look-back 30, visits 120 and 100 days ago: no visit and no revenue in the
    # window, but the lifetime dates and the status still come from the visits
    # (no cadence in the window: threshold = dormant 180; 100 days: active).
    # (Partner 2, with a visit in the window, is computed alongside.)
    row = customer(tx(1, 100, 80), tx(1, 120, 50), tx(2, 5, 10), settings=lookback(30))
    assert row.visit_count == 0
    assert row.revenue == 0
    assert pd.isna(row.avg_ticket)
    assert pd.isna(row.cadence_days)
    assert row.first_order_date == ago(120)
    assert row.days_since_last == 100
    assert row.status == "active"


def test_a_batch_without_any_visit_in_the_window_is_computed():
    # A partial recompute of one customer whose visits are all older than the
    # look-back window: one row, nothing in the window.
    row = customer(tx(1, 100, 80), settings=lookback(30))
    assert row.visit_count == 0
    assert row.revenue == 0
    assert row.status == "active"


def test_window_figures_of_each_customer_are_their_own():
    # Look-back 60. Partner 1: 50 + 70 in the window, 500 before it.
    # Partner 2: one visit of 30 in the window.
    partner_1 = [tx(1, 90, 500), tx(1, 50, 50), tx(1, 10, 70)]
    result = metrics(*partner_1, tx(2, 5, 30), settings=lookback(60))
    assert result.loc[(1, 1), "visit_count"] == 2
    assert result.loc[(1, 1), "revenue"] == 120
    assert result.loc[(1, 1), "avg_ticket"] == 60
    assert result.loc[(1, 2), "visit_count"] == 1
    assert result.loc[(1, 2), "revenue"] == 30


def test_lookback_zero_counts_even_very_old_orders():
    # Whole history means whole: an order keyed in on 31 December 1899 counts.
    row = customer(tx(1, "1899-12-31", 200), tx(1, 10, 100), settings=lookback(0))
    assert row.visit_count == 2
    assert row.revenue == 300
