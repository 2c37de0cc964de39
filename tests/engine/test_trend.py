"""Trend: revenue of the last period (as_of - P, as_of] against the one before
(as_of - 2P, as_of - P], in percent; P = 30, 91 or 365 days. No percentage
against nothing or against a net refund. The look-back window plays no part."""

import pandas as pd
import pytest
from engine_scenario import customer, period_edges, tx
from retention_engine import RetentionSettings


def period(name, **options):
    return RetentionSettings(trend_period=name, **options)


def test_quarter_periods_and_their_edges():
    # P = 91. Current (as_of - 91, as_of]: 0 days ago 50, 90 days ago 70 -> 120.
    # Previous (as_of - 182, as_of - 91]: 91 days ago 60, 181 days ago 40 -> 100.
    # 182 days ago (1000) is in neither. 100 x (120 - 100) / 100 = 20.
    row = customer(
        tx(1, 0, 50), tx(1, 90, 70), tx(1, 91, 60), tx(1, 181, 40), tx(1, 182, 1000)
    )
    assert row.trend_pct == 20


def test_the_default_period_is_the_quarter():
    assert RetentionSettings().trend_days == 91
    row = customer(tx(1, 10, 150), tx(1, 100, 100))
    assert row.trend_pct == 50


@pytest.mark.parametrize(
    "name, days, amounts, trend",
    [
        # P = 30. Current: 29 days ago 150. Previous: 30 days ago 100 and 59 days
        # ago 100 -> 200. 60 days ago (500) is in neither. 100 x (150 - 200) / 200
        # = -25.
        ("month", 30, (150, 100, 100, 500), -25),
        # P = 365. Current: 364 days ago 100. Previous (as_of - 730, as_of - 365]:
        # 365 and 729 days ago, 200 each -> 400. 730 days ago (900) is in neither.
        # 100 x (100 - 400) / 400 = -75.
        ("year", 365, (100, 200, 200, 900), -75),
    ],
)
def test_month_and_year_periods_and_their_edges(name, days, amounts, trend):
    row = customer(*period_edges(days, *amounts), settings=period(name))
    assert row.trend_pct == trend


def test_no_previous_revenue_gives_no_trend():
    row = customer(tx(1, 10, 100), tx(1, 20, 100))
    assert pd.isna(row.trend_pct)


def test_a_net_refund_in_the_previous_period_gives_no_trend():
    # Previous quarter: a visit of 50 and a refund of 80 -> -30: no percentage.
    row = customer(tx(1, 10, 100), tx(1, 100, 50), tx(1, 120, -80, visit=False))
    assert pd.isna(row.trend_pct)


def test_a_previous_revenue_of_exactly_zero_gives_no_trend():
    # Previous quarter: 50 refunded in full -> 0.
    row = customer(tx(1, 10, 100), tx(1, 100, 50), tx(1, 100, -50, visit=False))
    assert pd.isna(row.trend_pct)


def test_nothing_in_the_current_period_is_minus_100():
    row = customer(tx(1, 100, 80), tx(1, 150, 20))
    assert row.trend_pct == -100


def test_refunds_count_in_their_period():
    # Current: 100 - 40 = 60. Previous: 100. 100 x (60 - 100) / 100 = -40.
    row = customer(tx(1, 10, 100), tx(1, 5, -40, visit=False), tx(1, 100, 100))
    assert row.trend_pct == -40


def test_the_trend_ignores_the_look_back_window():
    # Look-back 30: the visit 100 days ago is outside the window (revenue 100)
    # but is the previous quarter: 100 x (100 - 50) / 50 = 100.
    row = customer(
        tx(1, 10, 100), tx(1, 100, 50), settings=RetentionSettings(lookback_days=30)
    )
    assert row.revenue == 100
    assert row.trend_pct == 100


def test_rows_after_the_reference_day_do_not_count_in_the_trend():
    # Current: 120 (the 1000 of tomorrow does not exist yet). Previous: 100 -> 20.
    row = customer(tx(1, 10, 120), tx(1, -1, 1000), tx(1, 100, 100))
    assert row.trend_pct == 20
