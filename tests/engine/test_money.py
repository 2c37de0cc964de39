"""Money: every amount of a customer (window revenue, average ticket, the
trend's period revenues, the revenue of its main category) is rounded half
away from zero to the decimals of its company's currency (currency_decimals,
2 by default) before anything compares or ranks it, and so are the stored
revenues of peers. Float sums of equal amounts differ in their last bits
(10.1 + 20.2 is 30.299999999999997, 0.1 + 0.2 is 0.30000000000000004);
rounded, equal to the cent is equal."""

import math

import numpy as np
import pandas as pd
from engine_scenario import customer, metrics, tx
from retention_engine import RetentionSettings, round_money


def top_pct(result):
    return {partner: pct for (_, partner), pct in result["group_top_pct"].items()}


def tiers(result):
    return {partner: tier for (_, partner), tier in result["group_tier"].items()}


def peers(*revenues, company=1):
    """Stored revenues of customers not recomputed, all in the no-value group."""
    rows = [(company, None, revenue) for revenue in revenues]
    return pd.DataFrame(rows, columns=["company_id", "group_key", "revenue"])


# round_money


def test_a_half_cent_rounds_away_from_zero():
    # 2.675 and -2.675 -> 2.68 and -2.68, as an accountant rounds them.
    assert list(round_money([2.675, -2.675], 2)) == [2.68, -2.68]


def test_a_half_cent_stored_a_hair_below_still_rounds_up():
    # 1.005 is stored as 1.00499999999999989..., 100.49999999999999 cents:
    # Odoo's float_round gives 1.01, and so does the engine; likewise 2.675
    # held as 2.67499999999999982236431605997495353221893310546875.
    assert list(round_money([1.005, -1.005, 2.675], 2)) == [1.01, -1.01, 2.68]


def test_a_half_a_few_units_in_the_last_place_below_rounds_away_from_zero():
    # 4.10 - 3.60 is 0.49999999999999956 and 2.01 - 1.76 is 0.24999999999999978:
    # float_round gives 1 (whole units) and 0.3 / -0.3 (one decimal).
    assert list(round_money([4.1 - 3.6], 0)) == [1.0]
    assert list(round_money([2.01 - 1.76, 1.76 - 2.01], 1)) == [0.3, -0.3]


def test_an_amount_truly_below_the_half_rounds_down():
    # 1.0049 is 0.0001 below the half cent, far beyond float noise.
    assert list(round_money([1.0049, -1.0049], 2)) == [1.0, -1.0]


def test_whole_units_round_half_away_from_zero_not_to_even():
    # numpy's round would give 0, 2 and -2 (halves to even).
    assert list(round_money([0.5, 2.5, -2.5, 100.4], 0)) == [1.0, 3.0, -3.0, 100.0]


def test_each_amount_may_have_its_own_decimals_and_nan_stays_nan():
    # 100.456 at 2 -> 100.46, at 0 -> 100, at 3 -> 100.456; NaN (no ticket) stays NaN.
    rounded = round_money([100.456, 100.456, 100.456, np.nan], [2, 0, 3, 2])
    assert list(rounded[:3]) == [100.46, 100.0, 100.456]
    assert math.isnan(rounded[3])


def test_a_rounded_amount_is_the_decimal_amount_itself():
    # 0.1 + 0.2 rounds to the float written 0.3, not 0.30000000000000004.
    assert round_money([0.1 + 0.2], 2)[0] == 0.3


# the engine's amounts


def test_the_window_revenue_is_rounded_to_the_cent():
    # An order of 2.675: revenue 2.68. A customer with only a refund of
    # 2.675: revenue -2.68.
    result = metrics(tx(1, 10, 2.675), tx(2, 10, -2.675, visit=False))
    assert result.loc[(1, 1), "revenue"] == 2.68
    assert result.loc[(1, 2), "revenue"] == -2.68


def test_the_average_ticket_is_rounded_to_the_cent():
    # Three orders, 100.00 in all: 33.333... -> 33.33.
    row = customer(tx(1, 30, 30), tx(1, 20, 30), tx(1, 10, 40))
    assert row.revenue == 100
    assert row.avg_ticket == 33.33


def test_the_trend_compares_period_revenues_to_the_cent():
    # Current quarter: 0.10 + 0.20 (two orders); previous quarter: 0.30.
    # Equal to the cent: a trend of exactly 0 %, not 1.8e-14 %.
    row = customer(tx(1, 20, 0.1), tx(1, 10, 0.2), tx(1, 100, 0.3))
    assert row.trend_pct == 0


def test_the_category_share_is_taken_between_rounded_amounts():
    # Whole units: 79.60 in category 3 and 20.40 in category 4 are 80 of 100
    # in the books: a share of 0.8, category-focused (79.6 / 100 would not be).
    row = customer(
        tx(1, 20, 79.6, category=3),
        tx(1, 10, 20.4, category=4),
        settings=RetentionSettings(currency_decimals=0),
    )
    assert row.revenue == 100
    assert row.profile == "category_focused"


# ranks


def test_ten_cents_and_twenty_cents_tie_with_thirty_cents():
    # Partner 1: 0.10 + 0.20 on one day; partner 2: 0.30. Both 0.30, nobody
    # strictly richer: r = 1, n = 2 -> 50 %, top 50 %.
    result = metrics(tx(1, 10, 0.1), tx(1, 10, 0.2), tx(2, 10, 0.3))
    assert result.loc[(1, 1), "revenue"] == result.loc[(1, 2), "revenue"] == 0.3
    assert top_pct(result) == {1: 50, 2: 50}
    assert tiers(result) == {1: "top50", 2: "top50"}


def test_same_cent_ties_in_a_group_of_five():
    # Partner 1: 10.10 + 20.20 (30.299999999999997 in floats), partner 2:
    # 30.30, partner 3: 20.00, partner 4: 0.10 + 0.20 (0.30000000000000004),
    # partner 5: 0.30. rank(method="min") from the richest, n = 5:
    #   1, 2: 30.30, none richer -> r = 1 -> 100 x 1 / 5 = 20 % (top 25 %)
    #   3:    20.00, two richer  -> r = 3 -> 60 % (below)
    #   4, 5:  0.30, three richer -> r = 4 -> 80 % (below)
    result = metrics(
        tx(1, 10, 10.1),
        tx(1, 10, 20.2),
        tx(2, 10, 30.3),
        tx(3, 10, 20),
        tx(4, 10, 0.1),
        tx(4, 10, 0.2),
        tx(5, 10, 0.3),
    )
    assert top_pct(result) == {1: 20, 2: 20, 3: 60, 4: 80, 5: 80}
    assert tiers(result) == {1: "top25", 2: "top25", 3: "below", 4: "below", 5: "below"}


def test_a_currency_without_decimals_ties_whole_units():
    # Company 1 counts in whole units (like the yen), company 2 in cents.
    # Company 1: partner 1 two orders 50.20 + 50.20 = 100.40 -> 100 (ticket
    # 50), partner 2 100.20 -> 100, partner 3 100.50 -> 101 (half away from
    # zero). Partner 3: r = 1 of 3 -> 33.3 %; partners 1 and 2: r = 2 -> 66.7 %.
    # Company 2, same orders: 100.40, 100.20 and 100.50 -> 66.7, 100 and 33.3 %.
    settings = {1: RetentionSettings(currency_decimals=0), 2: RetentionSettings()}
    rows = [
        tx(partner, day, amount, company=company)
        for company in (1, 2)
        for partner, day, amount in (
            (1, 20, 50.2),
            (1, 10, 50.2),
            (2, 10, 100.2),
            (3, 10, 100.5),
        )
    ]
    result = metrics(*rows, settings=settings)
    assert list(result.loc[1, "revenue"]) == [100, 100, 101]
    assert result.loc[(1, 1), "avg_ticket"] == 50
    assert list(result.loc[1, "group_top_pct"]) == [67, 67, 34]
    assert list(result.loc[2, "revenue"]) == [100.4, 100.2, 100.5]
    assert list(result.loc[2, "group_top_pct"]) == [67, 100, 34]


def test_a_stored_peer_revenue_ties_to_the_cent():
    # Partial recompute of partner 1: 10.10 + 20.20 -> 30.30. Stored peers:
    # 50.00, 30.30, 30.299999999999997 (30.30 as a float sum may come back)
    # and 0.004 (below half a cent: no revenue, not ranked).
    # One strictly richer (50): r = 2, n = 4 -> 50 %, top 50 %.
    result = metrics(
        tx(1, 10, 10.1), tx(1, 10, 20.2), peers=peers(50.0, 30.3, 10.1 + 20.2, 0.004)
    )
    assert top_pct(result) == {1: 50}
    assert tiers(result) == {1: "top50"}


def test_stored_peer_revenues_are_rounded_with_their_company_currency():
    # Company 1 counts in whole units: partner 1 spends 100.20 -> 100; a
    # stored peer of 100.40 -> 100 ties with it: r = 1, n = 2 -> 50 %.
    # (Unrounded, the peer would be richer: 100 %.)
    result = metrics(
        tx(1, 10, 100.2),
        peers=peers(100.4),
        settings=RetentionSettings(currency_decimals=0),
    )
    assert top_pct(result) == {1: 50}
