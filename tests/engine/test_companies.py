"""Companies are independent: the same partner in two companies is two
customers, ranked only within their company, each under its company's
settings (a dict by company id; companies missing from it get the defaults)."""

import pandas as pd
from engine_scenario import ago, metrics, tx
from retention_engine import RetentionSettings


def test_the_same_partner_in_two_companies_is_two_customers():
    # Partner 7: company 1 visits 40 and 10 days ago (60 + 40);
    # company 2 one visit 400 days ago (50).
    result = metrics(
        tx(7, 40, 60, company=1), tx(7, 10, 40, company=1), tx(7, 400, 50, company=2)
    )
    assert sorted(result.index) == [(1, 7), (2, 7)]
    one, two = result.loc[(1, 7)], result.loc[(2, 7)]
    assert (one.visit_count, one.revenue, one.cadence_days, one.status) == (
        2,
        100,
        30,
        "new",
    )
    assert one.first_order_date == ago(40)
    assert (two.visit_count, two.revenue, two.status, two.profile) == (
        1,
        50,
        "lost",
        "one_time",
    )
    assert pd.isna(two.cadence_days)


def test_visits_of_two_companies_do_not_merge():
    # Same partner, same day, two companies: one visit in each, not one shared.
    result = metrics(tx(7, 10, 30, company=1), tx(7, 10, 70, company=2))
    assert result.loc[(1, 7), "revenue"] == 30
    assert result.loc[(2, 7), "revenue"] == 70
    assert result.loc[(1, 7), "visit_count"] == 1


def test_a_refund_in_another_company_stays_there():
    # Company 1: visit of 100. Company 2: only a refund of 40 -> no visit there.
    result = metrics(tx(7, 10, 100, company=1), tx(7, 5, -40, visit=False, company=2))
    assert result.loc[(1, 7), "revenue"] == 100
    assert result.loc[(2, 7), "revenue"] == -40
    assert pd.isna(result.loc[(2, 7), "status"])


def test_each_company_is_ranked_on_its_own():
    # Company 1: 100 and 50 -> 50 %, 100 %. Company 2: 1000 alone -> 100 %.
    result = metrics(
        tx(1, 10, 100, company=1), tx(2, 10, 50, company=1), tx(3, 10, 1000, company=2)
    )
    assert result.loc[(1, 1), "group_top_pct"] == 50
    assert result.loc[(1, 2), "group_top_pct"] == 100
    assert result.loc[(2, 3), "group_top_pct"] == 100


def test_groups_with_the_same_key_in_two_companies_are_two_groups():
    groups = pd.DataFrame(
        [(1, 1, "a"), (1, 2, "a"), (2, 3, "a")],
        columns=["company_id", "partner_id", "group_key"],
    )
    result = metrics(
        tx(1, 10, 100, company=1),
        tx(2, 10, 50, company=1),
        tx(3, 10, 1000, company=2),
        groups=groups,
    )
    assert result.loc[(1, 1), "group_top_pct"] == 50
    assert result.loc[(2, 3), "group_top_pct"] == 100


def test_each_company_uses_its_own_settings_and_missing_ones_the_defaults():
    # The same history in three companies: one visit 200 days ago.
    # Company 1 (defaults): 200 <= lost 365, > dormant 180 -> at risk.
    # Company 2 (dormant 100, lost 150): 200 > 150 -> lost.
    # Company 3 (not in the dict): the defaults -> at risk.
    settings = {
        1: RetentionSettings(),
        2: RetentionSettings(dormant_days=100, lost_days=150),
    }
    result = metrics(
        *[tx(9, 200, 100, company=company) for company in (1, 2, 3)], settings=settings
    )
    assert result.loc[(1, 9), "status"] == "at_risk"
    assert result.loc[(2, 9), "status"] == "lost"
    assert result.loc[(3, 9), "status"] == "at_risk"


def test_one_settings_instance_applies_to_every_company():
    settings = RetentionSettings(dormant_days=100, lost_days=150)
    result = metrics(
        *[tx(9, 200, 100, company=company) for company in (1, 2)], settings=settings
    )
    assert list(result["status"]) == ["lost", "lost"]


def test_each_company_has_its_own_window():
    # Visits 100 and 10 days ago in both companies.
    # Company 1, look-back 30: 1 visit, revenue 20. Company 2, look-back 0:
    # 2 visits, 100.
    settings = {
        1: RetentionSettings(lookback_days=30),
        2: RetentionSettings(lookback_days=0),
    }
    rows = [
        tx(9, day, amount, company=company)
        for company in (1, 2)
        for day, amount in ((100, 80), (10, 20))
    ]
    result = metrics(*rows, settings=settings)
    assert (result.loc[(1, 9), "visit_count"], result.loc[(1, 9), "revenue"]) == (1, 20)
    assert (result.loc[(2, 9), "visit_count"], result.loc[(2, 9), "revenue"]) == (
        2,
        100,
    )
    assert result.loc[(2, 9), "cadence_days"] == 90


def test_each_company_has_its_own_trend_period_and_thresholds():
    # Visits 100 (50) and 10 (100) days ago in both companies.
    # Company 1, month: current 100, previous (60, 30] nothing -> no trend.
    # Company 2, quarter: current 100, previous 50 -> +100 %.
    # Company 1, frequent_visits 2 -> frequent; company 2 (defaults) -> sporadic.
    settings = {
        1: RetentionSettings(trend_period="month", frequent_visits=2),
        2: RetentionSettings(),
    }
    rows = [
        tx(9, day, amount, company=company)
        for company in (1, 2)
        for day, amount in ((100, 50), (10, 100))
    ]
    result = metrics(*rows, settings=settings)
    assert pd.isna(result.loc[(1, 9), "trend_pct"])
    assert result.loc[(2, 9), "trend_pct"] == 100
    assert result.loc[(1, 9), "profile"] == "frequent"
    assert result.loc[(2, 9), "profile"] == "sporadic"


def test_each_company_has_its_own_new_period():
    # One visit 60 days ago: new under the defaults (90), not with new_days 30.
    settings = {2: RetentionSettings(new_days=30)}
    result = metrics(
        tx(9, 60, 10, company=1), tx(9, 60, 10, company=2), settings=settings
    )
    assert result.loc[(1, 9), "status"] == "new"
    assert result.loc[(2, 9), "status"] == "active"
