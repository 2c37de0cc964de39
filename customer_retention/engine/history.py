"""Retention over time: who came back after each period, the weekly pulse,
the quiet hours, the first-order cohorts and the statuses at each month end.

Input is a table of *visits* (:data:`VISIT_COLUMNS`): one row per order
(sales order, point-of-sale order or invoice) and product category, with the
order's local time, salesperson, sales team and untaxed amount in the
company currency. ``is_visit`` False rows (credit notes, refunds) count for
nothing here; ``has_time`` False rows (invoices, dated at midnight) count
everywhere but in the hours of the day. A customer's visits of one day
are one visit, as everywhere in the engine.

Every figure of a customer is computed from that customer's rows alone, so
the tables of several disjoint sets of customers add up: the Odoo layer
computes them chunk by chunk and sums.
"""

import numpy as np
import pandas as pd

from .metrics import STATUSES, TRANSACTION_COLUMNS, statuses_over_time

VISIT_COLUMNS = [
    "partner_id",
    "at",  # local date and time of the order
    "user_id",  # 0: no salesperson
    "team_id",  # 0: no sales team
    "categ_id",  # 0: no product category
    "revenue",
    "is_visit",
    "source_id",  # UTM source of the document, 0: none
    "warehouse_id",  # 0: none or unknown
    "has_time",  # False: a day without a time of day (an invoice), at midnight
]
# period type -> pandas period frequency
PERIOD_TYPES = (("month", "M"), ("quarter", "Q"), ("year", "Y"))
OUTCOMES = (
    ("returned", "Came back"),
    ("not_returned", "Did not come back"),
    ("pending", "Not known yet"),
)
REPORT_COLUMNS = [
    "period_type",
    "period_start",
    "next_period_end",
    "partner_id",
    "user_id",
    "team_id",
    "categ_id",
    "revenue",
    "returned",
    "returned_same_user",
    "complete",
    "outcome",
]
# Weekdays as Python and pandas number them: Monday is 0.
WEEKDAYS = (
    ("0", "Monday"),
    ("1", "Tuesday"),
    ("2", "Wednesday"),
    ("3", "Thursday"),
    ("4", "Friday"),
    ("5", "Saturday"),
    ("6", "Sunday"),
)
# The same week a year earlier: 52 weeks back, on the same weekday.
YEAR_OF_WEEKS = pd.Timedelta(weeks=52)


def _visits(visits):
    """The visit rows with clean types and their local day."""
    frame = visits.loc[visits["is_visit"].astype(bool), VISIT_COLUMNS].copy()
    frame["at"] = pd.to_datetime(frame["at"])
    frame["day"] = frame["at"].dt.normalize()
    frame["has_time"] = frame["has_time"].astype(bool)
    for column in (
        "partner_id",
        "user_id",
        "team_id",
        "categ_id",
        "source_id",
        "warehouse_id",
    ):
        frame[column] = frame[column].fillna(0).astype("int64")
    frame["revenue"] = frame["revenue"].astype("float64").fillna(0.0)
    return frame


def visit_transactions(visits, company_id):
    """The transactions (metrics ``TRANSACTION_COLUMNS``) of ``company_id``
    that a table of its visits holds: per customer, local day, visit or
    refund-only document and product category, the sum of the revenue.
    The same rows as the transactions' extract of the same documents, so
    that one read of a customer's documents serves the values and
    Retention Analysis."""
    if visits.empty:
        return pd.DataFrame({column: [] for column in TRANSACTION_COLUMNS})
    frame = pd.DataFrame(
        {
            "company_id": company_id,
            "partner_id": visits["partner_id"].to_numpy(),
            "date": pd.to_datetime(visits["at"]).dt.normalize().to_numpy(),
            "is_visit": visits["is_visit"].to_numpy(dtype=bool),
            "category_id": visits["categ_id"].to_numpy(),
            "amount": visits["revenue"].to_numpy(dtype="float64"),
        }
    )
    keys = ["company_id", "partner_id", "date", "is_visit", "category_id"]
    summed = frame.groupby(keys, sort=False, as_index=False)["amount"].sum()
    return summed[TRANSACTION_COLUMNS]


def period_report(visits, today, period_types=None):
    """One row per period, customer, salesperson, sales team and product
    category served in it (:data:`REPORT_COLUMNS`), for each period type
    (month, quarter, year).

    ``returned``: the customer has a visit in the following period of the
    same length, with anybody; ``returned_same_user``: with the same
    salesperson. ``complete``: that following period has ended on ``today``
    (the company's), so "did not come back" is known; ``outcome`` says
    returned, not_returned or pending (not back yet, period not over)."""
    today = pd.Timestamp(today).normalize()
    frame = _visits(visits)
    wanted = dict(PERIOD_TYPES)
    if period_types:
        wanted = {name: wanted[name] for name in period_types}
    parts = [_period_rows(frame, name, freq, today) for name, freq in wanted.items()]
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[REPORT_COLUMNS]


def _period_rows(frame, name, freq, today):
    if frame.empty:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    period = frame["day"].dt.to_period(freq)
    keys = ["partner_id", "user_id", "team_id", "categ_id"]
    served = (
        frame.assign(period=period)
        .groupby([*keys, "period"], sort=False)["revenue"]
        .sum()
        .reset_index()
    )
    ordinal = period.astype("int64")
    present = pd.MultiIndex.from_arrays([frame["partner_id"], ordinal])
    present_user = pd.MultiIndex.from_arrays(
        [frame["partner_id"], frame["user_id"], ordinal]
    )
    next_ordinal = served["period"].astype("int64") + 1
    served["returned"] = pd.MultiIndex.from_arrays(
        [served["partner_id"], next_ordinal]
    ).isin(present)
    served["returned_same_user"] = pd.MultiIndex.from_arrays(
        [served["partner_id"], served["user_id"], next_ordinal]
    ).isin(present_user)
    # Timestamps (midnight), not date objects: a million rows to write.
    served["period_start"] = served["period"].dt.start_time
    next_end = (served["period"] + 2).dt.start_time
    served["next_period_end"] = next_end
    served["complete"] = (next_end <= today).to_numpy()
    served["outcome"] = np.where(
        served["returned"],
        "returned",
        np.where(served["complete"], "not_returned", "pending"),
    )
    served["period_type"] = name
    return served.drop(columns="period")


def weekly_pulse(visits):
    """Visits (customer days) and distinct customers per week (weeks start
    on Monday): frame ``week, visits, customers``."""
    frame = _visits(visits)
    days = frame.drop_duplicates(["partner_id", "day"])
    week = days["day"] - pd.to_timedelta(days["day"].dt.day_of_week, unit="D")
    grouped = days.assign(week=week).groupby("week")
    result = pd.DataFrame(
        {
            "visits": grouped.size(),
            "customers": grouped["partner_id"].nunique(),
        }
    ).reset_index()
    result["week"] = result["week"].dt.date
    return result[["week", "visits", "customers"]]


def with_year_before(weekly, last_week):
    """The weekly pulse as two series for one chart: each week's own figures
    (``this``) and those of the same week a year earlier
    (``year_before``: 52 weeks back), up to ``last_week``: frame ``week,
    series, visits, customers``."""
    weekly = weekly.copy()
    weekly["week"] = pd.to_datetime(weekly["week"])
    earlier = weekly.assign(week=weekly["week"] + YEAR_OF_WEEKS, series="year_before")
    result = pd.concat([weekly.assign(series="this"), earlier], ignore_index=True)
    result = result[result["week"] <= pd.Timestamp(last_week)]
    result["week"] = result["week"].dt.date
    return result[["week", "series", "visits", "customers"]].reset_index(drop=True)


def hour_grid(visits):
    """Visits by month, weekday and hour of the day: a customer's orders of
    one hour count once; rows without a time of day (``has_time`` False:
    invoices) are left out rather than piled up at midnight. Frame ``month,
    weekday, hour, visits`` (weekday as in :data:`WEEKDAYS`, month as its
    first day)."""
    frame = _visits(visits)
    frame = frame[frame["has_time"]]
    frame["hour"] = frame["at"].dt.hour
    slots = frame.drop_duplicates(["partner_id", "day", "hour"])
    grouped = slots.groupby(
        [
            slots["day"].dt.to_period("M").dt.start_time.dt.date.rename("month"),
            slots["day"].dt.day_of_week.astype(str).rename("weekday"),
            slots["hour"].rename("hour"),
        ]
    )
    return grouped.size().rename("visits").reset_index()


def cohorts(visits):
    """First-order cohorts: for each month of first visits and each number of
    months after it (0 is the month itself), the customers of that cohort
    with a visit in that month. Frame ``cohort_month, months_after,
    customers``; the customers at 0 are the cohort's size."""
    frame = _visits(visits)
    months = frame["day"].dt.to_period("M").astype("int64")
    active = pd.DataFrame(
        {"partner_id": frame["partner_id"].to_numpy(), "month": months.to_numpy()}
    ).drop_duplicates()
    first = active.groupby("partner_id")["month"].transform("min")
    active["months_after"] = active["month"] - first
    active["cohort"] = first
    counts = active.groupby(["cohort", "months_after"]).size().rename("customers")
    result = counts.reset_index()
    result["cohort_month"] = pd.PeriodIndex.from_ordinals(
        result["cohort"].to_numpy(), freq="M"
    ).start_time.date
    return result[["cohort_month", "months_after", "customers"]]


def month_ends(first_day, today, months):
    """The last days of the ``months`` whole months before ``today``'s
    month, not before the month of ``first_day``: oldest first."""
    current = pd.Timestamp(today).to_period("M")
    first = pd.Timestamp(first_day).to_period("M")
    start = max(first, current - months)
    ends = pd.period_range(start, current - 1, freq="M").end_time.normalize()
    return [day.date() for day in ends]


def status_by_month(transactions, days, settings=None, groups=None):
    """Customers by status at the end of each of ``days``, as if the rule
    had run on that day with ``settings`` (the engine's
    :func:`statuses_over_time`, with ``groups``): frame ``company_id,
    month_end, status, customers``."""
    parts = []
    for day, current in statuses_over_time(transactions, days, settings, groups):
        if current.empty:
            continue
        counts = (
            current.groupby(["company_id", "status"]).size().rename("customers")
        ).reset_index()
        counts["month_end"] = day.date()
        parts.append(counts)
    if not parts:
        return pd.DataFrame(columns=["company_id", "month_end", "status", "customers"])
    result = pd.concat(parts, ignore_index=True)
    return result[["company_id", "month_end", "status", "customers"]]


__all__ = [
    "OUTCOMES",
    "PERIOD_TYPES",
    "REPORT_COLUMNS",
    "STATUSES",
    "VISIT_COLUMNS",
    "WEEKDAYS",
    "cohorts",
    "hour_grid",
    "month_ends",
    "period_report",
    "status_by_month",
    "weekly_pulse",
    "with_year_before",
]
