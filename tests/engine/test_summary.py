"""The customer summary: total spent, habits, branch, source and categories."""

import math

import pandas as pd
from retention_engine.summary import category_totals, customer_summary


def _visits(rows):
    columns = [
        "partner_id",
        "at",
        "user_id",
        "team_id",
        "categ_id",
        "revenue",
        "is_visit",
        "source_id",
        "warehouse_id",
        "has_time",
    ]
    return pd.DataFrame(rows, columns=columns)


# Customer 1: three visit days, a refund, two salespeople, two categories.
#   Mon 2025-01-06 09:00  Anna (5), team 1, Hair (10) 100, source 3, store 7
#   Mon 2025-01-13 10:00  Boris (6), team 2, Nails (11) 50 + Hair 20, store 8
#   Mon 2025-01-13 18:30  Boris again, same day: one visit, Nails 5
#   Thu 2025-02-13 (invoice, no time)  Boris, team 2, Hair 40
#   refund 2025-02-20  Hair -30 (no visit)
# Customer 2: one visit, Wed 18:00, Nails 10.
VISITS = _visits(
    [
        (1, "2025-01-06 09:00", 5, 1, 10, 100.0, True, 3, 7, True),
        (1, "2025-01-13 10:00", 6, 2, 11, 50.0, True, 0, 8, True),
        (1, "2025-01-13 10:00", 6, 2, 10, 20.0, True, 0, 8, True),
        (1, "2025-01-13 18:30", 6, 2, 11, 5.0, True, 0, 8, True),
        (1, "2025-02-13 00:00", 6, 2, 10, 40.0, True, 0, 0, False),
        (1, "2025-02-20 00:00", 0, 0, 10, -30.0, False, 0, 0, False),
        (2, "2025-01-08 18:00", 5, 1, 11, 10.0, True, 0, 4, True),
    ]
)


def _row(frame, partner_id):
    return frame.set_index("partner_id").loc[partner_id]


def test_total_spent_is_net_of_refunds():
    summary = customer_summary(VISITS)
    # 100 + 50 + 20 + 5 + 40 - 30
    assert _row(summary, 1)["total_spent"] == 185.0
    assert _row(summary, 2)["total_spent"] == 10.0


def test_main_category_is_the_one_with_most_revenue():
    summary = customer_summary(VISITS)
    # Hair 100 + 20 + 40 - 30 = 130 against Nails 55.
    assert _row(summary, 1)["main_categ_id"] == 10
    assert _row(summary, 2)["main_categ_id"] == 11


def test_preferred_salesperson_counts_visit_days():
    summary = customer_summary(VISITS)
    # Boris served 2025-01-13 (twice the same day: one visit) and 2025-02-13,
    # Anna 2025-01-06: Boris 2 days against 1.
    assert _row(summary, 1)["preferred_user_id"] == 6
    # A single visit names its salesperson.
    assert _row(summary, 2)["preferred_user_id"] == 5


def test_a_tie_goes_to_the_latest_habit():
    visits = _visits(
        [
            (1, "2025-01-06 09:00", 5, 1, 10, 10.0, True, 0, 0, True),
            (1, "2025-01-09 19:00", 6, 1, 10, 10.0, True, 0, 0, True),
        ]
    )
    summary = customer_summary(visits)
    # One day each: the latest, Thursday evening with Boris.
    assert _row(summary, 1)["preferred_user_id"] == 6
    assert _row(summary, 1)["preferred_weekday"] == "3"
    assert _row(summary, 1)["preferred_daypart"] == "evening"


def test_weekday_and_time_of_day_need_two_visits():
    summary = customer_summary(VISITS)
    # Mondays 2025-01-06 and 2025-01-13, Thursday 2025-02-13: Monday ("0").
    assert _row(summary, 1)["preferred_weekday"] == "0"
    # Timed visit days: 01-06 morning, 01-13 morning and evening (each part
    # counts the day once); the invoice has no time: morning on 2 days.
    assert _row(summary, 1)["preferred_daypart"] == "morning"
    assert pd.isna(_row(summary, 2)["preferred_weekday"])
    assert pd.isna(_row(summary, 2)["preferred_daypart"])


def test_branch_of_the_last_visit_and_source_of_the_first():
    summary = customer_summary(VISITS)
    row = _row(summary, 1)
    # Last visit 2025-02-13: team 2, no warehouse on the invoice, so the
    # warehouse is that of the latest visit that has one (2025-01-13: 8).
    assert row["last_team_id"] == 2
    assert row["last_warehouse_id"] == 8
    assert row["first_source_id"] == 3
    assert math.isnan(_row(summary, 2)["first_source_id"])


def test_a_customer_with_only_a_refund_has_no_habits():
    visits = _visits([(9, "2025-01-06 00:00", 0, 0, 10, -20.0, False, 0, 0, False)])
    row = _row(customer_summary(visits), 9)
    assert row["total_spent"] == -20.0
    assert pd.isna(row["preferred_user_id"])
    assert pd.isna(row["last_team_id"])


def test_category_totals():
    totals = category_totals(VISITS).set_index(["partner_id", "categ_id"])
    # Hair of customer 1: 100 + 20 + 40 - 30 on 3 visit days, last 02-13.
    assert totals.loc[(1, 10), "revenue"] == 130.0
    assert totals.loc[(1, 10), "visits"] == 3
    assert totals.loc[(1, 10), "last_date"] == pd.Timestamp("2025-02-13")
    # Nails: 50 + 5 the same day: 1 visit.
    assert totals.loc[(1, 11), "revenue"] == 55.0
    assert totals.loc[(1, 11), "visits"] == 1
    assert len(totals) == 3


def test_rows_in_any_order():
    shuffled = VISITS.iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        customer_summary(shuffled).sort_values("partner_id").reset_index(drop=True),
        customer_summary(VISITS).sort_values("partner_id").reset_index(drop=True),
    )


def test_empty_visits():
    assert customer_summary(VISITS.iloc[:0]).empty
    assert category_totals(VISITS.iloc[:0]).empty
