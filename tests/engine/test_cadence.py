"""Cadence: the median gap in days between consecutive visits inside the window;
the next order is expected one cadence (rounded half up) after the last visit."""

import pandas as pd
from engine_scenario import AS_OF, ago, customer, metrics, tx
from retention_engine import RetentionSettings


def visits(*days_ago):
    return [tx(1, day, 100) for day in days_ago]


def test_the_median_of_an_odd_number_of_gaps_is_the_middle_gap():
    # Visits 100, 90, 70 and 10 days ago: gaps 10, 20, 60 -> median 20.
    # Next order: 10 days ago + 20 days = 10 days after AS_OF.
    row = customer(*visits(100, 90, 70, 10))
    assert row.cadence_days == 20
    assert row.days_since_last == 10
    assert row.next_order_date == AS_OF + pd.Timedelta(days=10)


def test_the_median_of_an_even_number_of_gaps_is_the_mean_of_the_middle_two():
    # Visits 100, 90, 70, 40 and 0 days ago: gaps 10, 20, 30, 40 -> (20 + 30) / 2 = 25.
    row = customer(*visits(100, 90, 70, 40, 0))
    assert row.cadence_days == 25
    assert row.next_order_date == AS_OF + pd.Timedelta(days=25)


def test_the_median_is_robust_to_one_long_pause():
    # Visits 130, 120, 110, 100 and 10 days ago: gaps 10, 10, 10, 90 -> median 10.
    row = customer(*visits(130, 120, 110, 100, 10))
    assert row.cadence_days == 10


def test_a_half_day_cadence_is_rounded_up_for_the_next_order():
    # Visits 21, 11 and 0 days ago: gaps 10 and 11 -> cadence 10.5, which
    # rounds half up to 11: next order 11 days after AS_OF.
    row = customer(*visits(21, 11, 0))
    assert row.cadence_days == 10.5
    assert row.next_order_date == AS_OF + pd.Timedelta(days=11)


def test_another_half_day_cadence_is_rounded_up_too():
    # Gaps 12 and 13 -> 12.5 -> 13 (half up, not to the even 12).
    row = customer(*visits(25, 13, 0))
    assert row.cadence_days == 12.5
    assert row.next_order_date == AS_OF + pd.Timedelta(days=13)


def test_one_visit_has_no_cadence_and_no_next_order():
    row = customer(*visits(10))
    assert pd.isna(row.cadence_days)
    assert pd.isna(row.next_order_date)
    assert row.days_since_last == 10


def test_two_visits_have_their_gap_as_cadence():
    row = customer(*visits(50, 20))
    assert row.cadence_days == 30
    assert row.next_order_date == ago(20) + pd.Timedelta(days=30)


def test_only_gaps_between_visits_inside_the_window_count():
    # Look-back 50: the visit 100 days ago is outside. Inside: 40 and 30 days
    # ago, one gap of 10 (not the median of 60 and 10, which would be 35).
    row = customer(*visits(100, 40, 30), settings=RetentionSettings(lookback_days=50))
    assert row.cadence_days == 10
    assert row.next_order_date == ago(30) + pd.Timedelta(days=10)


def test_a_visit_on_the_first_day_of_the_window_starts_a_gap():
    # Look-back 50: visits 50 (first day of the window) and 30 days ago -> 20.
    row = customer(*visits(60, 50, 30), settings=RetentionSettings(lookback_days=50))
    assert row.cadence_days == 20


def test_a_single_visit_inside_the_window_gives_no_cadence():
    # Look-back 50: only the visit 30 days ago is inside.
    row = customer(*visits(100, 30), settings=RetentionSettings(lookback_days=50))
    assert pd.isna(row.cadence_days)
    assert pd.isna(row.next_order_date)


def test_each_customer_has_their_own_gaps():
    # Partner 1: 30 and 10 days ago (gap 20); partner 2: 25 and 20 days ago (gap 5).
    # The gap from partner 1's last visit to partner 2's first is nobody's.
    result = metrics(tx(1, 30, 10), tx(1, 10, 10), tx(2, 25, 10), tx(2, 20, 10))
    assert result.loc[(1, 1), "cadence_days"] == 20
    assert result.loc[(1, 2), "cadence_days"] == 5
