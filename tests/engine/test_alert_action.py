"""Alert and action, from status and profile.
Alert: at_risk when the status is at risk, or the profile dormant and the
customer not lost; else for new and active customers: opportunity for
valuable, frequent and one-time, monitor for sporadic and category-focused.
Action, the first that applies: lost -> win_back; at-risk alert ->
reactivation; then by profile: valuable -> loyalty, frequent -> cross_sell,
one_time -> starter_offer, sporadic -> seasonal_promo, category_focused ->
same_category."""

import pandas as pd
from engine_scenario import customer, tx
from retention_engine import RetentionSettings


def visits(*days_ago, category=0):
    return [tx(1, day, 100, category=category) for day in days_ago]


def ranked_against(poorer):
    """Stored peers of the company, all poorer than the customer."""
    return pd.DataFrame(
        [(1, None, 1.0)] * poorer, columns=["company_id", "group_key", "revenue"]
    )


def outcome(*rows, **options):
    """(status, profile, alert, action) of partner 1, None for no value."""
    row = customer(*rows, **options)
    return tuple(
        None if pd.isna(row[name]) else row[name]
        for name in ("status", "profile", "alert", "action")
    )


# new and active customers


def test_new_one_time_is_an_opportunity_for_a_starter_offer():
    assert outcome(*visits(10)) == ("new", "one_time", "opportunity", "starter_offer")


def test_active_one_time_is_an_opportunity_for_a_starter_offer():
    # One visit 100 days ago: not new, 100 <= 180 -> active.
    assert outcome(*visits(100)) == (
        "active",
        "one_time",
        "opportunity",
        "starter_offer",
    )


def test_active_frequent_is_an_opportunity_to_cross_sell():
    # Visits 100, 70, 40, 10 days ago: cadence 30, threshold 45, 10 days -> active;
    # alone in the company -> below the median -> frequent.
    assert outcome(*visits(100, 70, 40, 10)) == (
        "active",
        "frequent",
        "opportunity",
        "cross_sell",
    )


def test_active_valuable_is_an_opportunity_for_loyalty():
    # Same visits, 3 poorer peers -> top 25 %.
    result = outcome(*visits(100, 70, 40, 10), peers=ranked_against(poorer=3))
    assert result == ("active", "valuable", "opportunity", "loyalty")


def test_new_frequent_is_an_opportunity_to_cross_sell():
    # Visits 80, 60, 40, 20 days ago: first within 90 days -> new.
    assert outcome(*visits(80, 60, 40, 20)) == (
        "new",
        "frequent",
        "opportunity",
        "cross_sell",
    )


def test_active_sporadic_is_to_monitor_with_a_seasonal_promotion():
    # Visits 200 and 10 days ago: cadence 190 -> threshold 180, 10 days -> active.
    assert outcome(*visits(200, 10)) == (
        "active",
        "sporadic",
        "monitor",
        "seasonal_promo",
    )


def test_new_sporadic_is_to_monitor_with_a_seasonal_promotion():
    assert outcome(*visits(60, 10)) == ("new", "sporadic", "monitor", "seasonal_promo")


def test_active_category_focused_is_to_monitor_with_offers_of_the_category():
    assert outcome(*visits(200, 10, category=4)) == (
        "active",
        "category_focused",
        "monitor",
        "same_category",
    )


def test_new_category_focused_is_to_monitor_with_offers_of_the_category():
    assert outcome(*visits(60, 10, category=4)) == (
        "new",
        "category_focused",
        "monitor",
        "same_category",
    )


# at risk


def test_at_risk_valuable_gets_a_reactivation_rather_than_loyalty():
    # Visits 130, 120, 110, 100, 40 days ago: cadence 10 -> threshold 30;
    # 40 days -> at risk. 5 visits, top 25 % -> valuable.
    result = outcome(*visits(130, 120, 110, 100, 40), peers=ranked_against(poorer=3))
    assert result == ("at_risk", "valuable", "at_risk", "reactivation")


def test_at_risk_frequent_gets_a_reactivation():
    assert outcome(*visits(130, 120, 110, 100, 40)) == (
        "at_risk",
        "frequent",
        "at_risk",
        "reactivation",
    )


def test_at_risk_sporadic_gets_a_reactivation():
    # Visits 150 and 100 days ago: cadence 50 -> threshold 75; 100 days -> at risk.
    assert outcome(*visits(150, 100)) == (
        "at_risk",
        "sporadic",
        "at_risk",
        "reactivation",
    )


def test_at_risk_category_focused_gets_a_reactivation():
    assert outcome(*visits(150, 100, category=4)) == (
        "at_risk",
        "category_focused",
        "at_risk",
        "reactivation",
    )


def test_at_risk_one_time_gets_a_reactivation_rather_than_a_starter_offer():
    # One visit 200 days ago: no cadence, threshold 180 -> at risk.
    assert outcome(*visits(200)) == ("at_risk", "one_time", "at_risk", "reactivation")


def test_at_risk_dormant_gets_a_reactivation():
    # Visits 300 and 200 days ago: threshold min(150, 180) = 150 -> at risk;
    # 200 > 180 -> dormant.
    assert outcome(*visits(300, 200)) == (
        "at_risk",
        "dormant",
        "at_risk",
        "reactivation",
    )


def test_a_new_but_dormant_customer_is_alerted_as_at_risk():
    # new_days 300: visits 250 and 200 days ago are new; 200 > dormant 180.
    result = outcome(*visits(250, 200), settings=RetentionSettings(new_days=300))
    assert result == ("new", "dormant", "at_risk", "reactivation")


# lost


def test_lost_dormant_has_no_alert_and_a_win_back_offer():
    assert outcome(*visits(500, 400)) == ("lost", "dormant", None, "win_back")


def test_lost_one_time_gets_a_win_back_rather_than_a_starter_offer():
    assert outcome(*visits(400)) == ("lost", "one_time", None, "win_back")


# no visit


def test_no_visit_no_alert_and_no_action():
    # Partner 1 only has a refund; partner 2 is an ordinary customer.
    assert outcome(tx(1, 10, -20, visit=False), tx(2, 10, 100)) == (
        None,
        None,
        None,
        None,
    )
