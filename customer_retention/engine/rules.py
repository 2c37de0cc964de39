"""The rules on stored values that other parts of the addon also need.

Each rule is written here once, for arrays of rows. Where the Odoo layer must
say the same thing in SQL (to filter, sort and group on it), its twin is built
in ``models/retention_rules.py`` next to these, and one test compares both on
the same random rows (``tests/test_rule_twins.py``).

- flagged: at risk or lost, what the back-test judges and the reps call;
- still buying: new or active;
- overdue: still worth chasing (not lost) and the next expected order past;
- days since the last order: on a given day; none without a last order;
- came back: from at risk or lost to active, what a win-back counts.
"""

import numpy as np
import pandas as pd

FLAGGED = ("at_risk", "lost")
STILL_BUYING = ("new", "active")
# A customer still worth chasing when their next expected order is past.
OVERDUE_STATUSES = ("new", "active", "at_risk")
# Where a customer who came back is now.
CAME_BACK_TO = "active"


def _column(values):
    """A Series of ``values``: an array, a Series (its own index dropped) or
    one value. Odoo's False for an empty field is treated as missing: it is
    in no list of statuses and is no date."""
    if np.ndim(values) == 0:
        values = [values]
    return pd.Series(values).reset_index(drop=True)


def _statuses(status):
    return _column(status)


def _dates(values):
    return pd.to_datetime(_column(values), errors="coerce")


def flagged(status):
    """Whether each status is a flag (at risk or lost)."""
    return _statuses(status).isin(FLAGGED).to_numpy()


def still_buying(status):
    """Whether each status is a customer still buying (new or active)."""
    return _statuses(status).isin(STILL_BUYING).to_numpy()


def days_since(last_order_date, as_of):
    """Whole days from each last order to ``as_of``, as floats; NaN without a
    last order."""
    as_of = pd.Timestamp(as_of).normalize()
    last = _dates(last_order_date)
    return (as_of - last).dt.days.astype("float64").to_numpy()


def overdue(status, next_order_date, as_of):
    """Whether each customer is overdue on ``as_of``: still worth chasing
    (new, active or at risk) and their next expected order before that day.
    False without a next expected order."""
    as_of = pd.Timestamp(as_of).normalize()
    upcoming = _dates(next_order_date)
    return _statuses(status).isin(OVERDUE_STATUSES).to_numpy() & (
        upcoming < as_of
    ).to_numpy(dtype=bool)


def came_back(old_status, new_status):
    """Whether each status change is a return: from at risk or lost to
    active."""
    return flagged(old_status) & (
        _statuses(new_status).eq(CAME_BACK_TO).to_numpy(dtype=bool)
    )


def scalar(rule, *values):
    """``rule`` on one row, its values given as scalars:
    ``scalar(days_since, last_order_date, today)``; None where it gives NaN."""
    value = rule(*values)[0]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value
