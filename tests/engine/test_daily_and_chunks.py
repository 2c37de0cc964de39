"""What a run in chunks and a read on a later day rely on: chunks computed
apart and then ranked again together (rerank) give what one call over
everybody gives, and the figures that move with the calendar (daily_figures)
come out of the stored values as the engine would compute them on that day."""

import pandas as pd
from engine_scenario import AS_OF, ago, metrics, tx
from retention_engine import (
    DAILY_COLUMNS,
    TRANSACTION_COLUMNS,
    RetentionSettings,
    compute_metrics,
    daily_figures,
    rerank,
    window_start,
)


def chunked(rows, chunks, **options):
    """A run in chunks: each chunk computed alone with no stored rank yet
    (a first night), then every row ranked again together."""
    frame = pd.DataFrame(rows, columns=TRANSACTION_COLUMNS)
    no_ranks = pd.DataFrame(columns=["company_id", "partner_id", "group_top_pct"])
    parts = pd.concat(
        [
            compute_metrics(
                frame[frame["partner_id"].isin(ids)], AS_OF, ranks=no_ranks, **options
            )
            for ids in chunks
        ],
        ignore_index=True,
    )
    return parts, rerank(parts, AS_OF, groups=options.get("groups"))


def test_chunks_ranked_again_together_equal_the_whole_run():
    # Five customers; the run computes partners 1-2 and 3-5 separately, then
    # ranks them all: the result is what one call gives.
    rows = [
        tx(1, 10, 500),
        tx(2, 40, 300),
        tx(2, 400, 100),
        tx(3, 5, 250),
        tx(4, 90, 50),
        tx(5, 200, 1000),
        tx(5, 800, 9999),  # outside the default two-year window
    ]
    whole = metrics(*rows)
    parts, ranked = chunked(rows, ([1, 2], [3, 4, 5]))
    assert parts["group_top_pct"].isna().all()
    pd.testing.assert_frame_equal(
        ranked.set_index(["company_id", "partner_id"])[whole.columns], whole
    )
    # window revenues of partners 1-5: 500, 400 (300 + 100), 250, 50 and 1000
    # (the 9999 is out of the window): ranks 2, 3, 4, 5, 1 of 5
    assert list(whole["group_top_pct"]) == [40, 60, 80, 100, 20]


def test_ranking_again_moves_the_profile_alert_and_action_with_the_tier():
    # Partner 1: 4 visits this year (frequent), 400; three others spent 10.
    # Alone in its chunk partner 1 has no rank: frequent, cross-sell. Ranked
    # with the others: 1 of 4 -> top 25 % -> valuable, loyalty reward.
    rows = [tx(1, day, 100) for day in (10, 40, 70, 100)]
    rows += [tx(3, 5, 10), tx(4, 5, 10), tx(5, 5, 10)]
    whole = metrics(*rows)
    assert whole.loc[(1, 1), "profile"] == "valuable"
    parts, ranked = chunked(rows, ([1], [3, 4, 5]))
    first = parts.set_index("partner_id").loc[1]
    assert (first["profile"], first["action"]) == ("frequent", "cross_sell")
    again = ranked.set_index("partner_id").loc[1]
    assert (again["group_top_pct"], again["profile"], again["action"]) == (
        25,
        "valuable",
        "loyalty",
    )


def test_ranking_again_respects_groups():
    rows = [tx(1, 10, 500), tx(2, 10, 300), tx(3, 10, 100)]
    groups = pd.DataFrame(
        [(1, 1, "a"), (1, 2, "b"), (1, 3, "b")],
        columns=["company_id", "partner_id", "group_key"],
    )
    whole = metrics(*rows, groups=groups)
    _parts, ranked = chunked(rows, ([1, 3], [2]), groups=groups)
    assert list(ranked.sort_values("partner_id")["group_top_pct"]) == [100, 50, 100]
    assert list(whole["group_top_pct"]) == [100, 50, 100]


def test_stored_ranks_are_taken_as_they_are():
    ranks = pd.DataFrame(
        [(1, 1, 7.0)], columns=["company_id", "partner_id", "group_top_pct"]
    )
    frame = pd.DataFrame([tx(1, 10, 500), tx(2, 10, 50)], columns=TRANSACTION_COLUMNS)
    result = compute_metrics(frame, AS_OF, ranks=ranks).set_index("partner_id")
    assert (
        result.loc[1, "group_top_pct"] == 7 and result.loc[1, "group_tier"] == "top10"
    )
    assert pd.isna(result.loc[2, "group_top_pct"]) and pd.isna(
        result.loc[2, "group_tier"]
    )


def test_the_window_starts_lookback_days_before_and_zero_means_all():
    assert window_start(AS_OF, RetentionSettings(lookback_days=30)) == ago(30).date()
    assert window_start(AS_OF, RetentionSettings(lookback_days=0)) is None


def test_daily_figures_on_a_later_day_are_what_a_recompute_would_give():
    # Partner 1: every 30 days, last 20 days ago (active, next in 10 days).
    # Partner 2: every 10 days, last 25 days ago (at risk, overdue 2.5x).
    # Partner 3: one visit 500 days ago (lost: never overdue).
    rows = [tx(1, 80, 10), tx(1, 50, 10), tx(1, 20, 10)]
    rows += [tx(2, 45, 10), tx(2, 35, 10), tx(2, 25, 10)]
    rows += [tx(3, 500, 10)]
    stored = metrics(*rows)
    later = AS_OF + pd.Timedelta(days=15)
    daily = daily_figures(stored, later)
    # 15 days later: 35 days since partner 1's last visit, 5 days overdue.
    assert list(daily["days_since_last"]) == [35, 40, 515]
    assert list(daily["overdue"]) == [True, True, False]
    assert daily.loc[(1, 2), "overdue_ratio"] == 4.0
    # the other columns are untouched, and the stored frame too
    assert list(stored["days_since_last"]) == [20, 25, 500]
    on_the_day = daily_figures(stored, AS_OF)
    pd.testing.assert_frame_equal(
        on_the_day[list(DAILY_COLUMNS)], stored[list(DAILY_COLUMNS)]
    )
