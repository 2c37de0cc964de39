"""Profile, the first that applies: one_time (one lifetime visit), dormant
(beyond dormant_days), valuable (top 10/25 % and frequent), frequent (at
least frequent_visits visits in the last 365 days), category_focused (at least
category_share of a positive window revenue from one category), sporadic.
Defaults: dormant 180, frequent 4, category share 0.8."""

import pandas as pd
import pytest
from engine_scenario import customer, tx
from retention_engine import RetentionSettings


def visits(*days_ago, amount=100):
    return [tx(1, day, amount) for day in days_ago]


def ranked_against(richer=0, poorer=0):
    """Stored peers of the company: ``richer`` at 10 000, ``poorer`` at 1."""
    rows = [(1, None, 10_000.0)] * richer + [(1, None, 1.0)] * poorer
    return pd.DataFrame(rows, columns=["company_id", "group_key", "revenue"])


def profile(*rows, **options):
    return customer(*rows, **options).profile


# one_time


def test_a_single_visit_is_one_time():
    assert profile(*visits(10)) == "one_time"


def test_one_time_wins_over_dormant():
    # One visit 200 days ago: beyond dormant 180, but a single visit.
    assert profile(*visits(200)) == "one_time"


def test_one_time_wins_over_category_focused():
    assert profile(tx(1, 10, 100, category=3)) == "one_time"


def test_one_time_counts_lifetime_visits_not_window_visits():
    # Look-back 30: one visit in the window, one before it -> two lifetime visits.
    row = customer(*visits(100, 10), settings=RetentionSettings(lookback_days=30))
    assert row.lifetime_visits == 2
    assert row.profile == "sporadic"


# dormant


def test_180_days_since_the_last_visit_is_not_yet_dormant():
    assert profile(*visits(300, 180)) == "sporadic"


def test_181_days_since_the_last_visit_is_dormant():
    assert profile(*visits(301, 181)) == "dormant"


def test_dormant_wins_over_valuable():
    # 4 visits within 365 days and top 25 % (3 poorer peers), but 181 days quiet.
    row = customer(*visits(211, 201, 191, 181), peers=ranked_against(poorer=3))
    assert row.visits_365 == 4
    assert row.group_tier == "top25"
    assert row.profile == "dormant"


def test_dormant_follows_the_settings():
    settings = RetentionSettings(dormant_days=60)
    assert profile(*visits(100, 60), settings=settings) == "sporadic"
    assert profile(*visits(100, 61), settings=settings) == "dormant"


# valuable and frequent


def test_frequent_in_the_top_25_percent_is_valuable():
    # Visits 100, 70, 40, 10 days ago (4 in 365 days), revenue 400 against
    # 3 poorer peers: r = 1, n = 4 -> 25 % -> top25.
    row = customer(*visits(100, 70, 40, 10), peers=ranked_against(poorer=3))
    assert row.group_top_pct == 25
    assert row.profile == "valuable"


def test_frequent_in_the_top_10_percent_is_valuable():
    # 9 poorer peers: 1 of 10 -> 10 %.
    row = customer(*visits(100, 70, 40, 10), peers=ranked_against(poorer=9))
    assert row.group_tier == "top10"
    assert row.profile == "valuable"


def test_frequent_in_the_top_50_percent_is_only_frequent():
    # 1 richer and 2 poorer peers: r = 2, n = 4 -> 50 % -> top50.
    row = customer(*visits(100, 70, 40, 10), peers=ranked_against(richer=1, poorer=2))
    assert row.group_tier == "top50"
    assert row.profile == "frequent"


def test_top_customer_with_few_visits_is_not_valuable():
    # 3 visits in 365 days, top 10 %: not frequent, hence not valuable.
    row = customer(*visits(100, 50, 10), peers=ranked_against(poorer=9))
    assert row.group_tier == "top10"
    assert row.profile == "sporadic"


def test_a_visit_exactly_365_days_ago_counts_as_frequent():
    # Visits 365, 300, 200 and 10 days ago: 4 in [as_of - 365, as_of].
    row = customer(*visits(365, 300, 200, 10))
    assert row.visits_365 == 4
    assert row.profile == "frequent"


def test_a_visit_366_days_ago_does_not_count_as_frequent():
    row = customer(*visits(366, 300, 200, 10))
    assert row.visits_365 == 3
    assert row.profile == "sporadic"


def test_frequent_ignores_the_look_back_window():
    # Look-back 30: only 1 visit in the window, but 4 in the last 365 days.
    row = customer(
        *visits(300, 200, 100, 10), settings=RetentionSettings(lookback_days=30)
    )
    assert row.visit_count == 1
    assert row.visits_365 == 4
    assert row.profile == "frequent"


def test_frequent_follows_the_settings():
    assert (
        profile(*visits(100, 10), settings=RetentionSettings(frequent_visits=2))
        == "frequent"
    )


def test_two_orders_on_one_day_are_one_visit_towards_frequent():
    # 3 days with orders, one of them with two orders: 3 visits, not 4.
    assert profile(*visits(100, 50, 10, 10)) == "sporadic"


def test_frequent_wins_over_category_focused():
    # 4 visits, all in category 3, alone in the company (top 100 %).
    assert (
        profile(*[tx(1, day, 100, category=3) for day in (100, 70, 40, 10)])
        == "frequent"
    )


# category_focused

FOCUSED, SPORADIC = "category_focused", "sporadic"


def lines(*rows):
    """Partner 1's order lines as (days ago, amount, category); a negative
    amount is a refund, which is no visit."""
    return [
        tx(1, day, amount, visit=amount > 0, category=category)
        for day, amount, category in rows
    ]


@pytest.mark.parametrize(
    "rows, expected",
    [
        # Category 1: 80 of 100 -> 0.8.
        pytest.param([(100, 80, 1), (10, 20, 2)], FOCUSED, id="exactly_the_share"),
        # Category 1: 79 of 100.
        pytest.param([(100, 79, 1), (10, 21, 2)], SPORADIC, id="just_under_the_share"),
        # Category 1: 50 + 30 = 80 of 100, split over two days and mixed with
        # category 2.
        pytest.param(
            [(100, 50, 1), (100, 20, 2), (10, 30, 1)],
            FOCUSED,
            id="the_lines_of_a_category_add_up",
        ),
        # All of the revenue without category: never a focus.
        pytest.param(
            [(100, 100, 0), (10, 100, 0)],
            SPORADIC,
            id="lines_without_category_never_make_a_focus",
        ),
        # Lines without category still count in the revenue. Category 1: 20 of
        # 100; the 80 without category are no category.
        pytest.param(
            [(100, 80, 0), (10, 20, 1)],
            SPORADIC,
            id="lines_without_category_still_count_in_the_revenue",
        ),
        # Category 1: 80 of 100, the rest without category.
        pytest.param(
            [(100, 20, 0), (10, 80, 1)], FOCUSED, id="the_rest_without_category"
        ),
        # 90 (cat 1) + 30 (cat 2) - 20 (cat 2 refund) = 100; category 1: 0.9.
        pytest.param(
            [(100, 90, 1), (10, 30, 2), (5, -20, 2)],
            FOCUSED,
            id="a_refund_in_another_category_raises_the_share",
        ),
        # 100 (cat 1) + 25 (cat 2) - 25 (cat 1 refund) = 100; category 1: 75
        # -> 0.75.
        pytest.param(
            [(100, 100, 1), (10, 25, 2), (5, -25, 1)],
            SPORADIC,
            id="a_refund_in_the_category_lowers_its_share",
        ),
    ],
)
def test_the_share_of_one_category_in_the_revenue(rows, expected):
    assert profile(*lines(*rows)) == expected


def test_the_share_is_of_the_window_revenue():
    # Look-back 30: the 500 of category 2 is before the window. In the window:
    # 100 (cat 1) + 10 (cat 2) = 110; category 1: 0.91.
    rows = lines((100, 500, 2), (20, 100, 1), (10, 10, 2))
    last_30_days = RetentionSettings(lookback_days=30)
    assert profile(*rows, settings=last_30_days) == "category_focused"


def test_no_focus_without_a_positive_window_revenue():
    # 60 + 40 in category 1, refunded 100 in category 2: window revenue 0.
    row = customer(*lines((20, 60, 1), (10, 40, 1), (5, -100, 2)))
    assert row.revenue == 0
    assert row.profile == "sporadic"


def test_category_share_follows_the_settings():
    rows = lines((100, 50, 1), (10, 50, 2))
    assert profile(*rows) == "sporadic"
    half = RetentionSettings(category_share=0.5)
    assert profile(*rows, settings=half) == "category_focused"


# sporadic and nothing


def test_the_rest_is_sporadic():
    assert profile(*visits(100, 10)) == "sporadic"


def test_no_visit_no_profile():
    # Partner 1 only has a refund; partner 2 is an ordinary customer.
    assert pd.isna(profile(tx(1, 10, -20, visit=False), tx(2, 10, 100)))
