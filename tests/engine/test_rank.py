"""Rank: among customers of the same company and group with a positive window
revenue, top % = 100 x (1 + number strictly richer) / their count; tiers at
10, 25 and 50 %; stored as a whole percent rounded up (33.3 -> 34). Stored
peers count in the rank without being recomputed."""

import pandas as pd
from engine_scenario import metrics, tx
from retention_engine import RetentionSettings


def spending(*amounts, company=1):
    """One visit 10 days ago per amount, for partners 1, 2, 3..."""
    return [
        tx(partner, 10, amount, company=company)
        for partner, amount in enumerate(amounts, start=1)
    ]


def groups(*pairs, company=1):
    """The groups frame from (partner, group_key) pairs."""
    return pd.DataFrame(
        [(company, partner, key) for partner, key in pairs],
        columns=["company_id", "partner_id", "group_key"],
    )


def peers(*pairs, company=1):
    """The peers frame from (group_key, revenue) pairs."""
    return pd.DataFrame(
        [(company, key, revenue) for key, revenue in pairs],
        columns=["company_id", "group_key", "revenue"],
    )


def top_pct(result):
    return {partner: pct for (_, partner), pct in result["group_top_pct"].items()}


def tiers(result):
    return {partner: tier for (_, partner), tier in result["group_tier"].items()}


def test_the_richest_of_four_is_in_the_top_25_percent():
    # Revenues 400, 300, 200, 100: ranks 1..4 of 4 -> 25, 50, 75, 100 %.
    result = metrics(*spending(400, 300, 200, 100))
    assert top_pct(result) == {1: 25, 2: 50, 3: 75, 4: 100}
    assert tiers(result) == {1: "top25", 2: "top50", 3: "below", 4: "below"}


def test_ties_share_the_best_rank():
    # 300, 200, 200, 100: the two 200s have one customer strictly richer
    # -> r = 2 -> 50 %; the 100 has three richer -> r = 4 -> 100 %.
    result = metrics(*spending(300, 200, 200, 100))
    assert top_pct(result) == {1: 25, 2: 50, 3: 50, 4: 100}


def test_everybody_tied_is_at_the_top():
    # 3 customers at 50: nobody strictly richer -> 100 x 1 / 3 = 33.3, shown
    # as a whole percent rounded up: top 34 %.
    result = metrics(*spending(50, 50, 50))
    assert top_pct(result) == {1: 34, 2: 34, 3: 34}
    assert set(tiers(result).values()) == {"top50"}


def test_a_lone_customer_is_100_percent_and_below_the_median():
    result = metrics(*spending(1000))
    assert top_pct(result) == {1: 100}
    assert tiers(result) == {1: "below"}


def test_tier_boundaries_are_inclusive():
    # 20 customers, revenues 200, 190, ..., 10: rank r -> 5 x r %.
    result = metrics(*spending(*range(200, 0, -10)))
    pct, tier = top_pct(result), tiers(result)
    assert pct[1] == 5 and tier[1] == "top10"
    assert pct[2] == 10 and tier[2] == "top10"
    assert pct[3] == 15 and tier[3] == "top25"
    assert pct[5] == 25 and tier[5] == "top25"
    assert pct[6] == 30 and tier[6] == "top50"
    assert pct[10] == 50 and tier[10] == "top50"
    assert pct[11] == 55 and tier[11] == "below"
    assert pct[20] == 100 and tier[20] == "below"


def test_customers_without_positive_revenue_are_not_ranked_and_do_not_count():
    # 100; 0 (an order of 0); -20 (an order of 30 refunded by 50).
    # Only the first is ranked: 1 of 1 -> 100 %.
    result = metrics(
        tx(1, 10, 100), tx(2, 10, 0), tx(3, 20, 30), tx(3, 10, -50, visit=False)
    )
    pct = top_pct(result)
    assert pct[1] == 100
    assert pd.isna(pct[2]) and pd.isna(pct[3])
    assert tiers(result)[1] == "below"
    assert pd.isna(tiers(result)[2]) and pd.isna(tiers(result)[3])


def test_the_rank_uses_the_window_revenue():
    # Look-back 30: partner 1 spent 1000 long ago and 10 recently (revenue 10);
    # partner 2 spent 50 recently. Partner 2 ranks first: 50 %; partner 1: 100 %.
    result = metrics(
        tx(1, 300, 1000),
        tx(1, 10, 10),
        tx(2, 10, 50),
        settings=RetentionSettings(lookback_days=30),
    )
    assert top_pct(result) == {1: 100, 2: 50}


def test_each_group_is_ranked_on_its_own():
    # Group "a": 400, 100 -> 50 %, 100 %. Group "b": 300, 200, 50 -> 33.3, 66.7,
    # 100 %, stored as 34, 67, 100.
    result = metrics(
        *spending(400, 100, 300, 200, 50),
        groups=groups((1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "b")),
    )
    assert top_pct(result) == {1: 50, 2: 100, 3: 34, 4: 67, 5: 100}
    assert {partner: key for (_, partner), key in result["group_key"].items()} == {
        1: "a",
        2: "a",
        3: "b",
        4: "b",
        5: "b",
    }


def test_a_none_key_and_a_missing_customer_share_the_no_value_group():
    # Partner 1 in group "a" (alone: 100 %). Partners 2 (key None), 3 (key NaN)
    # and 4 (not in the groups frame) form the "no value" group: 300, 200, 100.
    result = metrics(
        *spending(500, 300, 200, 100),
        groups=groups((1, "a"), (2, None), (3, float("nan"))),
    )
    assert top_pct(result) == {1: 100, 2: 34, 3: 67, 4: 100}
    assert result.loc[(1, 2), "group_key"] is None
    assert result.loc[(1, 3), "group_key"] is None
    assert result.loc[(1, 4), "group_key"] is None


def test_without_groups_everybody_of_the_company_is_one_group():
    result = metrics(*spending(200, 100))
    assert top_pct(result) == {1: 50, 2: 100}
    assert result["group_key"].isna().all()


def test_an_empty_groups_frame_is_no_groups():
    result = metrics(*spending(200, 100), groups=groups())
    assert top_pct(result) == {1: 50, 2: 100}


def test_peers_count_in_the_rank():
    # Partner 1 (100) against stored peers of 200, 100 and 50 in the same group:
    # one strictly richer -> r = 2, n = 4 -> 50 %.
    result = metrics(
        *spending(100),
        groups=groups((1, "a")),
        peers=peers(("a", 200), ("a", 100), ("a", 50)),
    )
    assert top_pct(result) == {1: 50}
    assert tiers(result) == {1: "top50"}


def test_peers_of_other_groups_and_companies_do_not_count():
    # Same group "a" but company 2, and group "b" of company 1: ignored.
    other_company = peers(("a", 500), company=2)
    other_group = peers(("b", 500))
    result = metrics(
        *spending(100),
        groups=groups((1, "a")),
        peers=pd.concat([other_company, other_group], ignore_index=True),
    )
    assert top_pct(result) == {1: 100}


def test_peers_without_positive_revenue_do_not_count():
    # Peers of 0 and -10 are not ranked customers: partner 1 alone -> 100 %.
    result = metrics(
        *spending(100),
        groups=groups((1, "a")),
        peers=peers(("a", 0), ("a", -10), ("a", 50)),
    )
    # r = 1, n = 2 (only the peer of 50 counts).
    assert top_pct(result) == {1: 50}


def test_peers_with_a_none_key_join_the_no_value_group():
    # Partner 1 has no group value; peers with None 300 and 50 are its group:
    # r = 2, n = 3 -> 66.7 %.
    result = metrics(
        *spending(100),
        groups=groups((1, None)),
        peers=peers((None, 300), (None, 50), ("a", 1000)),
    )
    assert top_pct(result) == {1: 67}


def test_peers_without_groups_rank_against_the_whole_company():
    # No groups: the company is one group; peers carry a None key.
    # 100 against 400, 300, 100 -> r = 3, n = 4 -> 75 %.
    result = metrics(*spending(100), peers=peers((None, 400), (None, 300), (None, 100)))
    assert top_pct(result) == {1: 75}


def test_peers_only_change_the_rank_not_the_rows():
    result = metrics(*spending(100, 50), peers=peers((None, 75)))
    # 100 -> r 1 of 3; 50 -> r 3 of 3.
    assert top_pct(result) == {1: 34, 2: 100}
    assert list(result.index) == [(1, 1), (1, 2)]


def test_integer_group_keys_match_integer_peer_keys_when_some_customer_has_no_value():
    # As the Odoo extract builds them: group keys are record ids, None where
    # the field is empty (pandas stores the column as float: 7.0, NaN); the
    # stored peers of group 7 come back as the integer 7.
    # Group 7: partner 1 (100) and a peer of 50 -> r = 1, n = 2 -> 50 %.
    # No value: partner 2 alone -> 100 %.
    result = metrics(
        *spending(100, 80), groups=groups((1, 7), (2, None)), peers=peers((7, 50))
    )
    assert top_pct(result) == {1: 50, 2: 100}


def test_nullable_integer_keys_with_gaps_are_missing_values_on_both_sides():
    # Keys in pandas' nullable Int64 columns: <NA> is "no value", for customers
    # and peers alike. Group 7: partner 1 (100) and a peer of 50 -> 50 %.
    # No value: partner 2 (80) and a peer of 50 -> r = 1, n = 2 -> 50 %.
    keys = pd.array([7, None], dtype="Int64")
    groups_frame = pd.DataFrame(
        {"company_id": [1, 1], "partner_id": [1, 2], "group_key": keys}
    )
    peers_frame = pd.DataFrame(
        {"company_id": [1, 1], "group_key": keys, "revenue": [50.0, 50.0]}
    )
    result = metrics(*spending(100, 80), groups=groups_frame, peers=peers_frame)
    assert top_pct(result) == {1: 50, 2: 50}


def test_counted_peers_rank_as_one_list_of_everybody():
    """The incremental recompute counts the stored peers above each revenue
    instead of listing them (engine ``count_peers_in``; SQL in the Odoo
    layer): on random revenues with ties, groups with no value, peers of
    other groups and revenues to the cent, the ranks are those of one list
    of everybody (hand-checked rule: 100 x (1 + strictly richer) / count,
    rounded up)."""
    import numpy as np
    from retention_engine.metrics import _group_labels, _top_pct, count_peers_in
    from retention_engine.money import round_money

    rng = np.random.default_rng(7)
    for _round in range(30):
        size = int(rng.integers(1, 40))
        keys = rng.choice([1, 2, None], size=size)
        revenue = rng.choice([0.0, 5.0, 10.0, 10.01, 20.5, 99.99], size=size)
        own = pd.DataFrame({"company_id": 1, "group_key": keys, "revenue": revenue})
        count = int(rng.integers(0, 60))
        others = pd.DataFrame(
            {
                "company_id": rng.choice([1, 2], size=count),
                "group_key": rng.choice([1, 2, 3, None], size=count),
                # to the cent after rounding, some a hair off
                "revenue": rng.choice([0.0, 5.0, 10.0, 10.005, 20.5, 150.0], size=count)
                + rng.choice([0.0, 1e-9], size=count),
            }
        )
        ranked = own[own["revenue"] > 0]
        counted = _counted_pct_of(ranked, count_peers_in(others, {1: 2}))
        # the reference: one list of the customers and the company's peers,
        # rounded to the cent, positive
        mine = others[others["company_id"] == 1].copy()
        mine["revenue"] = round_money(mine["revenue"].to_numpy(), 2)
        everybody = pd.concat(
            [ranked.assign(own=True), mine[mine["revenue"] > 0].assign(own=False)],
            ignore_index=True,
        )
        everybody["group_key"] = _group_labels(everybody["group_key"]).to_numpy()
        expected = _top_pct(everybody)[everybody["own"].to_numpy()]
        assert list(counted) == list(expected), (own, others)


def _counted_pct_of(ranked, counter):
    from retention_engine.metrics import _counted_pct

    return _counted_pct(ranked, counter)
