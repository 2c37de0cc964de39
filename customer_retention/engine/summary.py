"""The customer in one look: what a salesperson wants to know before a call.

Input is the table of visits of :mod:`.history` (one row per order and
product category, with its local time, salesperson, team, warehouse and UTM
source). Out come one row per customer (:func:`customer_summary`) and one
row per customer and product category bought (:func:`category_totals`).
Every figure of a customer comes from that customer's rows alone, so the
Odoo layer computes them chunk by chunk.

Rules, each a customer's own:

- ``total_spent``: untaxed revenue of the whole history, net of refunds.
- A *visit* is a day with an order (refunds are no visits), as everywhere in
  the engine. The preferred salesperson, weekday and time of day are those
  of the most visits; a tie goes to the one of the latest visit, the habit
  the customer has now. Weekday and time of day need :data:`MIN_HABIT_VISITS`
  visits: one order makes no habit. The time of day is read only from the
  rows that carry one (orders and tickets, not invoices: ``has_time``).
- ``main_categ_id``: the product category with the most revenue (a tie: the
  lowest id, so the answer never depends on the order of the rows).
- ``last_team_id``, ``last_warehouse_id``: those of the latest visit (the
  branch the customer last came to); ``first_source_id``: the UTM source of
  the first visit ("where did they hear about us").
"""

import numpy as np
import pandas as pd

from .money import round_money

SUMMARY_COLUMNS = [
    "total_spent",
    "main_categ_id",
    "preferred_user_id",
    "preferred_weekday",
    "preferred_daypart",
    "last_team_id",
    "last_warehouse_id",
    "first_source_id",
]
CATEGORY_COLUMNS = ["partner_id", "categ_id", "revenue", "visits", "last_date"]
# Times of day: (key, label, first hour); each part runs to the next one's
# first hour.
DAYPARTS = (
    ("morning", "Morning (before 12:00)", 0),
    ("afternoon", "Afternoon (12:00-17:00)", 12),
    ("evening", "Evening (from 17:00)", 17),
)
MIN_HABIT_VISITS = 2
# More than any day number: visits x this + the latest day orders by both.
_DAYS_SCALE = 10**7
_ID_COLUMNS = (
    "partner_id",
    "user_id",
    "team_id",
    "categ_id",
    "warehouse_id",
    "source_id",
)


def _clean(visits):
    frame = visits.copy()
    frame["at"] = pd.to_datetime(frame["at"])
    frame["day"] = frame["at"].dt.normalize()
    frame["day_number"] = (
        frame["day"].to_numpy().astype("datetime64[D]").astype("int64")
    )
    for column in _ID_COLUMNS:
        if column not in frame:
            frame[column] = 0
        frame[column] = frame[column].fillna(0).astype("int64")
    frame["revenue"] = frame["revenue"].astype("float64").fillna(0.0)
    frame["is_visit"] = frame["is_visit"].astype(bool)
    if "has_time" not in frame:
        frame["has_time"] = True
    frame["has_time"] = frame["has_time"].astype(bool)
    return frame


def _favourite(days, column, minimum=1):
    """Per customer, the value of ``column`` (0: none, ignored) on the most
    visit days; ties go to the value of the latest of those days. ``days``
    has one row per customer, day and value; ``minimum``: the visit days a
    customer needs for an answer."""
    known = days[days[column] != 0]
    if known.empty:
        return pd.Series(dtype="float64")
    grouped = known.groupby(["partner_id", column], sort=False)["day_number"]
    counted = pd.DataFrame({"visits": grouped.size(), "latest": grouped.max()})
    # Most visits first, then the latest: one number, one pass per customer.
    counted["score"] = counted["visits"] * _DAYS_SCALE + counted["latest"]
    counted = counted.reset_index()
    best = counted.loc[counted.groupby("partner_id", sort=False)["score"].idxmax()]
    best = best.set_index("partner_id")[column]
    if minimum > 1:
        habits = known.drop_duplicates(["partner_id", "day_number"])
        habits = habits.groupby("partner_id", sort=False).size()
        best = best[habits.reindex(best.index) >= minimum]
    return best.astype("float64")


def _at_visit(visits, column, first):
    """Per customer, ``column`` (0: none) of the first or latest visit day
    (several orders that day: the largest value, for a stable answer)."""
    known = visits[visits[column] != 0]
    if known.empty:
        return pd.Series(dtype="float64")
    edge = known.groupby("partner_id")["day"].transform("min" if first else "max")
    chosen = known[known["day"] == edge]
    return chosen.groupby("partner_id")[column].max().astype("float64")


def _daypart(hours):
    """The index in :data:`DAYPARTS` of each hour."""
    starts = np.array([start for _key, _label, start in DAYPARTS])
    return np.searchsorted(starts, hours, side="right") - 1


def customer_summary(visits, currency_decimals=2):
    """One row per customer of ``visits``: ``partner_id`` and
    :data:`SUMMARY_COLUMNS`. Ids are floats with NaN for none;
    ``preferred_weekday`` is "0" (Monday) to "6"; ``preferred_daypart`` a key
    of :data:`DAYPARTS`."""
    frame = _clean(visits)
    if frame.empty:
        return pd.DataFrame(columns=["partner_id", *SUMMARY_COLUMNS])
    result = pd.DataFrame(index=pd.Index(frame["partner_id"].unique(), name=None))
    spent = frame.groupby("partner_id")["revenue"].sum()
    result["total_spent"] = pd.Series(
        round_money(spent, currency_decimals), index=spent.index
    )
    by_category = frame[frame["categ_id"] != 0].groupby(["partner_id", "categ_id"])
    category_revenue = by_category["revenue"].sum().reset_index()
    category_revenue = category_revenue.sort_values(
        ["partner_id", "revenue", "categ_id"], ascending=[True, False, True]
    ).drop_duplicates("partner_id")
    result["main_categ_id"] = category_revenue.set_index("partner_id")[
        "categ_id"
    ].astype("float64")

    visits_only = frame[frame["is_visit"]]
    user_days = visits_only[["partner_id", "day_number", "user_id"]].drop_duplicates()
    result["preferred_user_id"] = _favourite(user_days, "user_id")
    weekday_days = visits_only[["partner_id", "day_number", "day"]].drop_duplicates(
        ["partner_id", "day_number"]
    )
    weekday_days = weekday_days.assign(weekday=weekday_days["day"].dt.day_of_week + 1)
    weekday = _favourite(weekday_days, "weekday", MIN_HABIT_VISITS)
    result["preferred_weekday"] = (weekday - 1).map(lambda day: str(int(day)))
    # Parts of the day numbered from 1 (0 is "none" for _favourite).
    timed = visits_only[visits_only["has_time"]]
    part_days = timed[["partner_id", "day_number"]].assign(
        part=_daypart(timed["at"].dt.hour.to_numpy()) + 1
    )
    part = _favourite(part_days.drop_duplicates(), "part", MIN_HABIT_VISITS)
    result["preferred_daypart"] = (part - 1).map(lambda index: DAYPARTS[int(index)][0])
    result["last_team_id"] = _at_visit(visits_only, "team_id", first=False)
    result["last_warehouse_id"] = _at_visit(visits_only, "warehouse_id", first=False)
    result["first_source_id"] = _at_visit(visits_only, "source_id", first=True)
    result = result.reset_index(names="partner_id")
    return result[["partner_id", *SUMMARY_COLUMNS]]


def category_totals(visits, currency_decimals=2):
    """One row per customer and product category bought (:data:`CATEGORY_COLUMNS`):
    net revenue, visits (days with an order of it) and the last such day."""
    frame = _clean(visits)
    frame = frame[frame["categ_id"] != 0]
    if frame.empty:
        return pd.DataFrame(columns=CATEGORY_COLUMNS)
    grouped = frame.groupby(["partner_id", "categ_id"])
    visit_rows = frame[frame["is_visit"]].groupby(["partner_id", "categ_id"])
    result = pd.DataFrame({"revenue": grouped["revenue"].sum()})
    result["visits"] = visit_rows["day"].nunique()
    result["last_date"] = visit_rows["day"].max()
    result["visits"] = result["visits"].fillna(0).astype("int64")
    result["revenue"] = round_money(result["revenue"], currency_decimals)
    return result.reset_index()[CATEGORY_COLUMNS]


__all__ = [
    "CATEGORY_COLUMNS",
    "DAYPARTS",
    "MIN_HABIT_VISITS",
    "SUMMARY_COLUMNS",
    "category_totals",
    "customer_summary",
]
