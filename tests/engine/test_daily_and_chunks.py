"""What a run in chunks and a read on a later day rely on: ranks of every
customer from one pass (rank_revenues) give each chunk the ranks of a whole
run, and the figures that move with the calendar (daily_figures) come out of
the stored values as the engine would compute them on that day."""

import pandas as pd
from engine_scenario import AS_OF, ago, metrics, tx
from retention_engine import (
    DAILY_COLUMNS,
    TRANSACTION_COLUMNS,
    RetentionSettings,
    compute_metrics,
    daily_figures,
    rank_revenues,
    window_start,
)


def revenues(*rows):
    return pd.DataFrame(
        list(rows), columns=["company_id", "partner_id", "group_key", "revenue"]
    )


def test_ranks_of_one_pass_rank_like_a_whole_run():
    # Window revenues 400, 300.004 (rounds to 300.00), 300, 0 and -5 in one
    # group: the 300s tie -> ranks 1, 2, 2 of 3 ranked -> 33.3, 66.7, 66.7 %
    # shown as 34, 67, 67; 0 and -5 are not ranked.
    result = rank_revenues(
        revenues(
            (1, 1, None, 400.0),
            (1, 2, None, 300.004),
            (1, 3, None, 300.0),
            (1, 4, None, 0.0),
            (1, 5, None, -5.0),
        )
    )
    assert dict(zip(result["partner_id"], result["group_top_pct"], strict=True)) == {
        1: 34,
        2: 67,
        3: 67,
    }


def test_ranks_are_per_company_and_group():
    # Company 1 group a: 100, 50 -> 50, 100. Group b: 10 -> 100.
    # Company 2 (same key a): 70 -> 100.
    result = rank_revenues(
        revenues(
            (1, 1, "a", 100.0),
            (1, 2, "a", 50.0),
            (1, 3, "b", 10.0),
            (2, 4, "a", 70.0),
        )
    )
    got = {
        (c, p): pct
        for c, p, pct in result[["company_id", "partner_id", "group_top_pct"]].values
    }
    assert got == {(1, 1): 50, (1, 2): 100, (1, 3): 100, (2, 4): 100}


def test_a_chunk_with_the_runs_ranks_equals_the_whole_run():
    # Five customers in one company; the run computes partners 1-2 and 3-5
    # separately with the ranks of one pass, and gets what one call gets.
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
    frame = pd.DataFrame(rows, columns=TRANSACTION_COLUMNS)
    start = pd.Timestamp(window_start(AS_OF, RetentionSettings()))
    in_window = frame[frame["date"] >= start]
    ranks = rank_revenues(
        in_window.groupby(["company_id", "partner_id"], as_index=False)["amount"]
        .sum()
        .rename(columns={"amount": "revenue"})
        .assign(group_key=None)
    )
    chunks = pd.concat(
        compute_metrics(
            frame[frame["partner_id"].isin(ids)], AS_OF, ranks=ranks
        ).set_index(["company_id", "partner_id"])
        for ids in ([1, 2], [3, 4, 5])
    )
    pd.testing.assert_frame_equal(chunks, whole)
    # window revenues of partners 1-5: 500, 400 (300 + 100), 250, 50 and 1000
    # (the 9999 is out of the window): ranks 2, 3, 4, 5, 1 of 5
    assert list(whole["group_top_pct"]) == [40, 60, 80, 100, 20]


def test_a_customer_missing_from_the_ranks_has_no_rank():
    ranks = rank_revenues(revenues((1, 2, None, 10.0)))
    frame = pd.DataFrame([tx(1, 10, 500)], columns=TRANSACTION_COLUMNS)
    result = compute_metrics(frame, AS_OF, ranks=ranks)
    assert result["group_top_pct"].isna().all()
    assert result["group_tier"].isna().all()


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
