"""Status: lost beyond lost_days, else new since the first visit, else at risk
beyond the threshold (usual interval x factor, clamped between min_at_risk_days
and dormant_days), else active. Equal to a threshold is not beyond it.
Defaults: new 90, factor 1.5, min at risk 30, dormant 180, lost 365."""

import pandas as pd
import pytest
from engine_scenario import customer, tx
from retention_engine import RetentionSettings

# Every threshold shorter than its default: factor 2, minimum 10, dormant 100,
# lost 200, new 30.
SHORTER = RetentionSettings(
    new_days=30, at_risk_factor=2, min_at_risk_days=10, dormant_days=100, lost_days=200
)


def visits(*days_ago, **options):
    """The metrics row of a customer who came on these days."""
    return customer(*[tx(1, day, 100) for day in days_ago], **options)


def test_365_days_after_the_last_visit_is_not_yet_lost():
    # Single visit 365 days ago: not beyond 365; no cadence, threshold 180 -> at risk.
    assert visits(365).status == "at_risk"


def test_366_days_after_the_last_visit_is_lost():
    assert visits(366).status == "lost"


def test_lost_counts_from_the_last_visit_not_the_first():
    # 500 and 300 days ago: 300 days since the last visit, cadence 200
    # -> threshold min(300, 180) = 180 -> at risk, not lost.
    assert visits(500, 300).status == "at_risk"


def test_a_first_visit_90_days_ago_is_new():
    assert visits(90).status == "new"


def test_a_first_visit_91_days_ago_is_no_longer_new():
    # Single visit, 91 days <= dormant 180 -> active.
    assert visits(91).status == "active"


def test_new_wins_over_at_risk():
    # Visits 80 and 60 days ago: cadence 20 -> threshold max(30, 30) = 30,
    # 60 days since the last visit is beyond it, but the customer is new.
    row = visits(80, 60)
    assert row.at_risk_threshold == 30
    assert row.status == "new"


def test_new_looks_at_the_first_visit_of_the_whole_history():
    # Look-back 30: the first visit 100 days ago is outside the window but
    # still makes the customer not new. Single visit in the window -> active.
    assert (
        visits(100, 10, settings=RetentionSettings(lookback_days=30)).status == "active"
    )


def test_lost_wins_over_new():
    # new_days 400 would make a visit 370 days ago new; lost (365) comes first.
    assert (
        visits(370, settings=RetentionSettings(new_days=400, lost_days=365)).status
        == "lost"
    )


@pytest.mark.parametrize(
    "later, status",
    [(0, "active"), (1, "at_risk")],
    ids=["last_day_within_is_active", "one_day_later_is_at_risk"],
)
@pytest.mark.parametrize(
    "days_ago, cadence, threshold",
    [
        # Visits 120, 110, 100, 30 days ago: gaps 10, 10, 70 -> cadence 10;
        # 1.5 x 10 = 15 -> raised to min_at_risk 30. 30 days since: equal.
        pytest.param(
            (120, 110, 100, 30), 10, 30, id="a_short_cadence_is_raised_to_the_minimum"
        ),
        # Visits 140, 100, 60 days ago: cadence 40 -> 1.5 x 40 = 60. 60 days: equal.
        pytest.param((140, 100, 60), 40, 60, id="a_middle_cadence_uses_the_factor"),
        # Visits 112, 87, 62, 37 days ago: cadence 25 -> 37.5. 37 days: within,
        # 38 beyond.
        pytest.param(
            (112, 87, 62, 37), 25, 37.5, id="a_fractional_threshold_is_compared_as_is"
        ),
        # Visits 330 and 180 days ago: cadence 150 -> 225 -> capped to 180.
        # 180 days since: equal.
        pytest.param(
            (330, 180), 150, 180, id="a_long_cadence_is_capped_at_dormant_days"
        ),
    ],
)
def test_the_threshold_follows_the_cadence(days_ago, cadence, threshold, later, status):
    # ``later`` days later in the same rhythm: same cadence and threshold.
    row = visits(*(day + later for day in days_ago))
    expected = (cadence, threshold, status)
    assert (row.cadence_days, row.at_risk_threshold, row.status) == expected


def test_without_cadence_the_threshold_is_dormant_days():
    # Single visit, 180 days ago: active; 181 days ago: at risk.
    row = visits(180)
    assert row.at_risk_threshold == 180
    assert row.status == "active"
    assert visits(181).status == "at_risk"


def test_the_thresholds_come_from_the_settings():
    # Visits 60, 50, 40, 20 days ago: gaps 10, 10, 20 -> cadence 10 -> 2 x 10 = 20.
    row = visits(60, 50, 40, 20, settings=SHORTER)
    assert row.at_risk_threshold == 20
    assert row.status == "active"
    assert visits(61, 51, 41, 21, settings=SHORTER).status == "at_risk"
    # Single visits: threshold dormant 100, lost beyond 200.
    assert visits(100, settings=SHORTER).status == "active"
    assert visits(101, settings=SHORTER).status == "at_risk"
    assert visits(200, settings=SHORTER).status == "at_risk"
    assert visits(201, settings=SHORTER).status == "lost"
    assert visits(30, settings=SHORTER).status == "new"
    assert visits(31, settings=SHORTER).status == "active"


def test_the_overdue_ratio_is_days_since_over_cadence():
    # Visits 154, 124, 94 days ago: cadence 30, 94 days since -> 94 / 30.
    row = visits(154, 124, 94)
    assert row.overdue_ratio == 94 / 30
    assert row.status == "at_risk"
    assert pd.isna(visits(10).overdue_ratio)


# Overdue: the next expected order (last visit + usual interval) is before the
# reference day, and the customer is new, active or at risk (not lost).


def test_a_next_order_due_yesterday_is_overdue():
    # Every 30 days until 31 days ago: next order 1 day ago; active (31 <= 45,
    # first visit 121 > 90 days ago).
    row = visits(121, 91, 61, 31)
    assert (row.status, row.overdue) == ("active", True)


def test_a_next_order_due_today_is_not_yet_overdue():
    # Every 30 days until 30 days ago: next order expected today, not before.
    row = visits(120, 90, 60, 30)
    assert (row.status, row.overdue) == ("active", False)


def test_no_rhythm_no_overdue():
    # A single visit has no usual interval, so no expected next order.
    assert not visits(100).overdue


def test_lost_customers_are_not_chased_as_overdue():
    # 430 and 400 days ago: next order 370 days ago, but lost (400 > 365).
    row = visits(430, 400)
    assert (row.status, row.overdue) == ("lost", False)


def test_at_risk_customers_are_overdue():
    # 160, 130 and 100 days ago: next order expected 70 days ago, at risk.
    row = visits(160, 130, 100)
    assert (row.status, row.overdue) == ("at_risk", True)
