"""Retention over time (engine/history.py), hand-computed.

The DIKIDI example: Karolina and Marta each served 31 clients in December;
in January 25 of Karolina's clients did not come back, 5 of Marta's.
Eyelash extensions bring 60 % back, a manicure 20 %."""

from datetime import date

import pandas as pd
import pytest
from engine_scenario import tx
from retention_engine.history import (
    cohorts,
    hour_grid,
    month_ends,
    period_report,
    status_by_month,
    visit_transactions,
    weekly_pulse,
    with_year_before,
)
from retention_engine.metrics import TRANSACTION_COLUMNS

KAROLINA, MARTA = 11, 12
LASHES, MANICURE = 21, 22
TODAY = date(2026, 3, 10)


def visit(
    partner,
    at,
    user=KAROLINA,
    categ=LASHES,
    revenue=100.0,
    team=0,
    is_visit=True,
    has_time=True,
):
    return {
        "partner_id": partner,
        "at": pd.Timestamp(at),
        "user_id": user,
        "team_id": team,
        "categ_id": categ,
        "revenue": revenue,
        "is_visit": is_visit,
        "source_id": 0,
        "warehouse_id": 0,
        "has_time": has_time,
    }


def frame(*rows):
    return pd.DataFrame(list(rows))


def months(report, period_start="2025-12-01"):
    rows = report[
        (report["period_type"] == "month")
        & (report["period_start"] == pd.Timestamp(period_start))
    ]
    return rows


def test_dikidi_salespeople_december_to_january():
    rows = []
    # Karolina: customers 1..31 in December, only 1..6 back in January.
    for partner in range(1, 32):
        rows.append(visit(partner, "2025-12-05 10:00", KAROLINA))
        if partner <= 6:
            rows.append(visit(partner, "2026-01-20 10:00", MARTA))
    # Marta: customers 101..131 in December, 101..126 back in January.
    for partner in range(101, 132):
        rows.append(visit(partner, "2025-12-06 11:00", MARTA))
        if partner <= 126:
            rows.append(visit(partner, "2026-01-07 11:00", MARTA))
    december = months(period_report(frame(*rows), TODAY))
    by_user = december.groupby("user_id")
    assert by_user.size().to_dict() == {KAROLINA: 31, MARTA: 31}
    assert (~december["returned"]).groupby(december["user_id"]).sum().to_dict() == {
        KAROLINA: 25,
        MARTA: 5,
    }
    # Karolina's 6 came back to Marta: back, but not to the same salesperson.
    karolina = december[december["user_id"] == KAROLINA]
    assert karolina["returned"].sum() == 6
    assert karolina["returned_same_user"].sum() == 0
    # February has ended by 10 March: December is complete, outcomes known.
    assert december["complete"].all()
    assert (december["outcome"] == "not_returned").sum() == 30


def test_dikidi_categories_sixty_and_twenty_percent():
    rows = []
    for partner in range(1, 11):  # lashes: 6 of 10 back
        rows.append(visit(partner, "2025-12-03 09:00", categ=LASHES))
        if partner <= 6:
            rows.append(visit(partner, "2026-01-03 09:00", categ=MANICURE))
    for partner in range(21, 31):  # manicure: 2 of 10 back
        rows.append(visit(partner, "2025-12-04 09:00", categ=MANICURE))
        if partner <= 22:
            rows.append(visit(partner, "2026-01-28 09:00", categ=MANICURE))
    december = months(period_report(frame(*rows), TODAY))
    rate = december.groupby("categ_id")["returned"].mean().to_dict()
    assert rate == {LASHES: 0.6, MANICURE: 0.2}


def test_one_row_per_category_and_salesperson_of_the_period():
    report = period_report(
        frame(
            visit(1, "2026-01-02 10:00", KAROLINA, LASHES, 30.0),
            visit(1, "2026-01-02 10:00", KAROLINA, MANICURE, 20.0),
            visit(1, "2026-01-15 10:00", KAROLINA, LASHES, 50.0),
            visit(1, "2026-01-20 10:00", MARTA, LASHES, 10.0),
        ),
        TODAY,
        period_types=["month"],
    )
    revenue = report.set_index(["user_id", "categ_id"])["revenue"].to_dict()
    assert revenue == {
        (KAROLINA, LASHES): 80.0,
        (KAROLINA, MANICURE): 20.0,
        (MARTA, LASHES): 10.0,
    }


def test_the_period_whose_following_period_has_not_ended_is_pending():
    # January's following period is February, ended on 1 March: complete.
    # February's following period is March, not ended on 10 March.
    report = period_report(
        frame(
            visit(1, "2026-01-10 10:00"),
            visit(1, "2026-02-10 10:00"),
            visit(2, "2026-02-11 10:00"),
        ),
        TODAY,
        period_types=["month"],
    )
    outcome = report.set_index(["partner_id", "period_start"])["outcome"].to_dict()
    assert outcome == {
        (1, pd.Timestamp("2026-01-01")): "returned",
        (1, pd.Timestamp("2026-02-01")): "pending",
        (2, pd.Timestamp("2026-02-01")): "pending",
    }
    february = report[report["period_start"] == pd.Timestamp("2026-02-01")]
    assert not february["complete"].any()
    assert set(february["next_period_end"]) == {pd.Timestamp("2026-04-01")}


def test_a_visit_two_periods_later_is_no_return():
    report = period_report(
        frame(visit(1, "2025-10-10 10:00"), visit(1, "2025-12-10 10:00")),
        TODAY,
        period_types=["month"],
    )
    october = report[report["period_start"] == pd.Timestamp("2025-10-01")].iloc[0]
    assert not october["returned"]
    assert october["outcome"] == "not_returned"


@pytest.mark.parametrize(
    "period_type, start, back, returned",
    [
        ("quarter", "2025-07-01", "2025-12-31 23:00", True),  # Q3 -> Q4
        ("quarter", "2025-07-01", "2026-01-01 08:00", False),  # Q3 -> Q1: no
        ("year", "2024-01-01", "2025-12-31 23:00", True),
        ("year", "2024-01-01", "2026-01-01 08:00", False),
    ],
)
def test_quarters_and_years_follow_the_calendar(period_type, start, back, returned):
    first = pd.Timestamp(start) + pd.Timedelta(days=5, hours=9)
    report = period_report(
        frame(visit(1, first), visit(1, back)), TODAY, period_types=[period_type]
    )
    row = report[report["period_start"] == pd.Timestamp(start)].iloc[0]
    assert bool(row["returned"]) is returned


def test_credit_notes_are_no_visit():
    report = period_report(
        frame(
            visit(1, "2026-01-10 10:00"),
            visit(1, "2026-02-03 10:00", revenue=-100.0, is_visit=False),
        ),
        TODAY,
        period_types=["month"],
    )
    assert len(report) == 1
    assert not report.iloc[0]["returned"]


def test_no_salesperson_is_its_own_salesperson():
    report = period_report(
        frame(
            visit(1, "2026-01-10 10:00", user=0), visit(1, "2026-02-03 10:00", user=0)
        ),
        TODAY,
        period_types=["month"],
    )
    january = report[report["period_start"] == pd.Timestamp("2026-01-01")].iloc[0]
    assert january["returned_same_user"]


def test_weekly_pulse_counts_customer_days_and_customers():
    weekly = weekly_pulse(
        frame(
            # Monday 2 March 2026 and Sunday 8 March: one week.
            visit(1, "2026-03-02 09:00"),
            visit(1, "2026-03-02 17:00"),  # same day: one visit
            visit(1, "2026-03-08 10:00"),
            visit(2, "2026-03-04 10:00", categ=MANICURE),
            visit(2, "2026-03-04 10:00", categ=LASHES),
            visit(3, "2026-03-09 10:00"),  # Monday of the next week
        )
    )
    assert weekly.set_index("week").to_dict("index") == {
        date(2026, 3, 2): {"visits": 3, "customers": 2},
        date(2026, 3, 9): {"visits": 1, "customers": 1},
    }


def test_the_same_week_a_year_earlier_is_52_weeks_back():
    weekly = pd.DataFrame(
        {
            "week": [date(2025, 3, 3), date(2026, 3, 2)],
            "visits": [5, 7],
            "customers": [4, 6],
        }
    )
    series = with_year_before(weekly, last_week=date(2026, 3, 2))
    rows = {
        (row.week, row.series): (row.visits, row.customers)
        for row in series.itertuples()
    }
    assert rows == {
        (date(2025, 3, 3), "this"): (5, 4),
        (date(2026, 3, 2), "this"): (7, 6),
        (date(2026, 3, 2), "year_before"): (5, 4),
    }


def test_hour_grid_by_local_weekday_and_hour():
    grid = hour_grid(
        frame(
            visit(1, "2026-03-02 09:10"),  # Monday
            visit(1, "2026-03-02 09:50"),  # same customer, same hour: once
            visit(2, "2026-03-02 09:30"),
            visit(2, "2026-03-07 18:05"),  # Saturday
        )
    )
    cells = grid.set_index(["month", "weekday", "hour"])["visits"].to_dict()
    assert cells == {
        (date(2026, 3, 1), "0", 9): 2,
        (date(2026, 3, 1), "5", 18): 1,
    }


def test_hour_grid_leaves_out_rows_without_a_time_of_day():
    # An invoice of Monday is dated at midnight: no hour of the day for it,
    # while the order of the same morning is at 09:00.
    grid = hour_grid(
        frame(
            visit(1, "2026-03-02 00:00", has_time=False),
            visit(2, "2026-03-02 09:30"),
        )
    )
    cells = grid.set_index(["month", "weekday", "hour"])["visits"].to_dict()
    assert cells == {(date(2026, 3, 1), "0", 9): 1}
    only_invoices = hour_grid(frame(visit(1, "2026-03-02 00:00", has_time=False)))
    assert only_invoices.empty


def test_cohorts_count_each_months_customers_still_buying():
    grid = cohorts(
        frame(
            visit(1, "2026-01-05 10:00"),
            visit(1, "2026-01-25 10:00"),
            visit(1, "2026-03-05 10:00"),
            visit(2, "2026-01-07 10:00"),
            visit(2, "2026-02-07 10:00"),
            visit(3, "2026-02-01 10:00"),
            visit(3, "2026-03-01 10:00"),
        )
    )
    cells = grid.set_index(["cohort_month", "months_after"])["customers"].to_dict()
    assert cells == {
        (date(2026, 1, 1), 0): 2,
        (date(2026, 1, 1), 1): 1,
        (date(2026, 1, 1), 2): 1,
        (date(2026, 2, 1), 0): 1,
        (date(2026, 2, 1), 1): 1,
    }


def test_month_ends_are_the_whole_months_before_today():
    assert month_ends(date(2025, 11, 20), date(2026, 2, 10), 36) == [
        date(2025, 11, 30),
        date(2025, 12, 31),
        date(2026, 1, 31),
    ]
    assert month_ends(date(2020, 1, 1), date(2026, 2, 10), 2) == [
        date(2025, 12, 31),
        date(2026, 1, 31),
    ]


def test_status_by_month_as_if_the_rule_had_run_then():
    # Customer 1: visits 1 Oct and 1 Nov 2025 (cadence 31 days).
    # 30 Nov: first visit 60 days earlier -> new (new_days 90).
    # 31 Dec: first visit 91 days earlier -> not new; 60 days since the
    # last, beyond max(1.5 x 31, 30) = 46.5 -> at risk; 31 Jan: the same.
    # Customer 2: one visit on 15 Jan 2026 -> not there on 30 Nov and 31 Dec.
    transactions = pd.DataFrame(
        [
            tx(1, pd.Timestamp("2025-10-01"), 100),
            tx(1, pd.Timestamp("2025-11-01"), 100),
            tx(2, pd.Timestamp("2026-01-15"), 100),
        ]
    )
    counts = status_by_month(
        transactions,
        # 30 September: before every order, no customer yet
        [date(2025, 9, 30), date(2025, 11, 30), date(2025, 12, 31), date(2026, 1, 31)],
    )
    cells = counts.set_index(["month_end", "status"])["customers"].to_dict()
    assert cells == {
        (date(2025, 11, 30), "new"): 1,
        (date(2025, 12, 31), "at_risk"): 1,
        (date(2026, 1, 31), "at_risk"): 1,
        (date(2026, 1, 31), "new"): 1,
    }


@pytest.mark.parametrize("late_first", [False, True])
def test_statuses_over_time_agree_with_the_full_computation(late_first):
    # Twelve customers with irregular visits, refunds and a one-visit one:
    # on each month end the statuses equal compute_metrics' on that day.
    # late_first: the smallest ids come last, so the customers present on
    # an early day are not the first ones of the whole table.
    from retention_engine import RetentionSettings, compute_metrics

    rows = []
    for partner in range(1, 13):
        start = 13 - partner if late_first else partner
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * start)
        for visit in range(partner % 5 + 1):
            rows.append(tx(partner, day, 10.0 * partner))
            day += pd.Timedelta(days=13 * (visit + partner % 3) + 5)
        if partner % 4 == 0:
            rows.append(tx(partner, day, -5.0, visit=False))
    transactions = pd.DataFrame(rows)
    settings = RetentionSettings(new_days=60, lost_days=200, dormant_days=120)
    days = month_ends(date(2024, 1, 1), date(2025, 3, 15), 14)
    counts = status_by_month(transactions, days, settings)
    for day in days:
        full = compute_metrics(transactions, day, settings)
        expected = full.groupby("status").size().to_dict() if len(full) else {}
        got = counts[counts["month_end"] == day].set_index("status")["customers"]
        assert got.to_dict() == expected, day


def test_transactions_of_visits():
    # Customer 1 on 2026-03-02: two orders (09:00 lashes 100, 17:30 lashes
    # 50 and manicure 30), a credit note of -20 lashes (no visit) at
    # midnight; on 03-05 a manicure of 40. Customer 2 on 03-02: one order.
    # Per customer, day, visit or not and category: 1/03-02/visit/lashes
    # 150, 1/03-02/visit/manicure 30, 1/03-02/refund/lashes -20,
    # 1/03-05/visit/manicure 40, 2/03-02/visit/lashes 70.
    visits = frame(
        visit(1, "2026-03-02 09:00", revenue=100.0),
        visit(1, "2026-03-02 17:30", revenue=50.0),
        visit(1, "2026-03-02 17:30", categ=MANICURE, revenue=30.0),
        visit(1, "2026-03-02", revenue=-20.0, is_visit=False, has_time=False),
        visit(1, "2026-03-05 11:00", categ=MANICURE, revenue=40.0),
        visit(2, "2026-03-02 10:00", revenue=70.0),
    )
    result = visit_transactions(visits, 7)
    rows = sorted(
        (r.company_id, r.partner_id, r.date.date(), r.is_visit, r.category_id, r.amount)
        for r in result.itertuples()
    )
    day, later = date(2026, 3, 2), date(2026, 3, 5)
    assert rows == [
        (7, 1, day, False, LASHES, -20.0),
        (7, 1, day, True, LASHES, 150.0),
        (7, 1, day, True, MANICURE, 30.0),
        (7, 1, later, True, MANICURE, 40.0),
        (7, 2, day, True, LASHES, 70.0),
    ]
    # the columns compute_metrics takes
    assert list(result.columns) == TRANSACTION_COLUMNS
    assert visit_transactions(visits.iloc[:0], 7).empty
