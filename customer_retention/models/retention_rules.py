# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The SQL twins of the engine's rules (``engine/rules.py``).

Where the database must say what a rule says, to filter, sort and group on it
or to fill a report, the SQL is built here and nowhere else, from the
engine's own lists. ``TWINS`` pairs each twin with its rule and the columns
it reads; ``tests/test_rule_twins.py`` runs both on the same random rows and
fails on any twin it does not cover.
"""

from odoo.tools import SQL

from ..engine import rules


def _condition(sql):
    # A rule is true or false, as in the engine: NULL (no status, no date)
    # is false, also inside NOT and in a SELECT.
    return SQL("COALESCE(%s, false)", sql)


def flagged(status):
    """``status`` (an SQL expression) is at risk or lost."""
    return _condition(SQL("%s IN %s", status, rules.FLAGGED))


def still_buying(status):
    """``status`` is new or active."""
    return _condition(SQL("%s IN %s", status, rules.STILL_BUYING))


def days_since(last_order_date, today):
    """Days from ``last_order_date`` (an SQL date) to ``today`` (a date);
    NULL without a last order."""
    return SQL("(%s::date - %s)", today, last_order_date)


def days_since_order(last_order_date, descending, nulls_first):
    """An ORDER BY term on days since the last order, read from the stored
    date: most days first is the oldest date first, so that an index on the
    date serves the sort. ``nulls_first``: customers without a last order
    first."""
    return SQL(
        "%s %s %s",
        last_order_date,
        SQL("ASC" if descending else "DESC"),
        SQL("NULLS FIRST" if nulls_first else "NULLS LAST"),
    )


def overdue(status, next_order_date, today):
    """Still worth chasing and the next expected order before ``today``;
    false (not NULL) without a next expected order."""
    return _condition(
        SQL(
            "%s IN %s AND %s < %s::date",
            status,
            rules.OVERDUE_STATUSES,
            next_order_date,
            today,
        )
    )


def came_back(old_status, new_status):
    """A status change from at risk or lost to active."""
    return _condition(
        SQL(
            "%s IN %s AND %s = %s",
            old_status,
            rules.FLAGGED,
            new_status,
            rules.CAME_BACK_TO,
        )
    )


# Each twin: (its rule in the engine, the kinds of the columns it reads per
# row, whether it also takes the day). The comparison test draws random rows
# of these kinds, runs both and compares.
TWINS = {
    flagged: (rules.flagged, ("status",), False),
    still_buying: (rules.still_buying, ("status",), False),
    days_since: (rules.days_since, ("date",), True),
    overdue: (rules.overdue, ("status", "date"), True),
    came_back: (rules.came_back, ("status", "status"), False),
}
