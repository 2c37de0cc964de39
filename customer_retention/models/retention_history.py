# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Set-based reads and writes of Retention Analysis (retention over time).

The nightly run's last phase goes over the customers chunk by chunk, like
its first: each chunk's orders are read once, as one row per order and
product category (:func:`extract_visits`), handed to the engine
(engine/history.py), and what it returns is written with COPY:

- the period report rows (``retention_report``) of the chunk's customers
  whose orders changed since the report was last brought up to date, where
  they differ (all of them the first time): the cost of a night is the
  changes;
- the chunk's share of the pulse tables (weeks, weekday and hour, cohorts),
  as rows marked ``building``: the engine's figures of disjoint customers
  add up, and :func:`finish` sums them and swaps them in;
- the first time only, the chunk's statuses at each past month end,
  reconstructed from its order history.
"""

import datetime

import numpy as np
import pandas as pd

from odoo.tools import SQL

from ..engine.history import (
    VISIT_COLUMNS,
    cohorts,
    hour_grid,
    month_ends,
    period_report,
    status_by_month,
    weekly_pulse,
    with_year_before,
)
from . import retention_sources, retention_store

_PULSE_TABLES = (
    "retention_pulse_week",
    "retention_visit_hour",
    "retention_cohort",
)


def extract_visits(company, as_of, chunk=None, partner_ids=None):
    """The visits of ``company`` up to ``as_of`` (its local day) as the
    engine's history table (:data:`VISIT_COLUMNS`): the sources, customers,
    days, currency and walk-in customer of the transactions' extract, one
    row per document and product category."""
    query, params = retention_store._extract_query(
        company,
        as_of,
        partner_ids=partner_ids,
        chunk=chunk,
        shape=retention_sources.visits_query,
    )
    frame = retention_store.read_extract(company, query, params, VISIT_COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"])
    return frame


def begin(company):
    """Drop what an interrupted run left half-built."""
    cr = company.env.cr
    for table in (*_PULSE_TABLES, "retention_status_month"):
        cr.execute(
            SQL(
                "DELETE FROM %s WHERE company_id = %s AND building",
                SQL.identifier(table),
                company.id,
            )
        )


# The columns that make a report row (the others are generated from them).
_REPORT_KEYS = (
    "period_type",
    "period_start",
    "partner_id",
    "user_id",
    "team_id",
    "categ_id",
)
_REPORT_VALUES = (
    "next_period_end",
    "revenue",
    "returned",
    "returned_same_user",
    "complete",
)


def refresh_report(company, visits, today, partner_ids=None, chunk=None):
    """Bring the period report rows of the customers ``partner_ids`` (all
    the customers of ``chunk`` when None: a first build, written at once)
    to those of ``visits``. Returns the number of rows written.

    For given customers (those whose orders changed), only the rows that
    differ are deleted and inserted: a new order changes its period's rows
    and the previous period's "came back", not the customer's three years
    of history, which stays where it was written (next to the same period's
    rows of the other customers, which the reports read together)."""
    cr = company.env.cr
    if partner_ids is not None:
        visits = visits[visits["partner_id"].isin(partner_ids)]
    rows = period_report(visits, today)
    table = _report_table(rows, company)
    if partner_ids is None:
        cr.execute(
            SQL(
                "DELETE FROM retention_report WHERE company_id = %s AND %s",
                company.id,
                retention_store._range(chunk),
            )
        )
        if not table.empty:
            retention_store._copy_in(cr, "retention_report", table)
        return len(table)
    return _write_report_changes(company, table, partner_ids)


def _write_report_changes(company, table, partner_ids):
    cr = company.env.cr
    cr.execute("DROP TABLE IF EXISTS retention_report_stage")
    cr.execute(
        """
        CREATE TEMP TABLE retention_report_stage AS
        SELECT company_id, period_type, period_start, next_period_end, partner_id,
               user_id, team_id, categ_id, revenue, returned, returned_same_user,
               complete
          FROM retention_report WITH NO DATA
        """
    )
    if not table.empty:
        retention_store._copy_in(cr, "retention_report_stage", table)
    same = SQL(" AND ").join(
        [
            SQL("s.company_id = r.company_id"),
            *(
                SQL(
                    "COALESCE(s.%s, 0) = COALESCE(r.%s, 0)",
                    SQL.identifier(name),
                    SQL.identifier(name),
                )
                if name.endswith("_id")
                else SQL("s.%s = r.%s", SQL.identifier(name), SQL.identifier(name))
                for name in _REPORT_KEYS + _REPORT_VALUES
            ),
        ]
    )
    cr.execute(
        SQL(
            """
            DELETE FROM retention_report r
             WHERE r.company_id = %s AND r.partner_id = ANY(%s)
               AND NOT EXISTS (SELECT 1 FROM retention_report_stage s WHERE %s)
            """,
            company.id,
            [int(pid) for pid in partner_ids],
            same,
        )
    )
    columns = SQL(", ").join(SQL.identifier(name) for name in table.columns)
    cr.execute(
        SQL(
            """
            INSERT INTO retention_report (%s)
            SELECT %s FROM retention_report_stage s
             WHERE NOT EXISTS (
                   SELECT 1 FROM retention_report r
                    WHERE r.partner_id = s.partner_id AND %s)
            """,
            columns,
            SQL(", ").join(SQL.identifier("s", name) for name in table.columns),
            same,
        )
    )
    written = cr.rowcount
    cr.execute("DROP TABLE retention_report_stage")
    return written


def _report_table(rows, company):
    """The engine's report rows as the table's columns, each already text
    or a number: pandas writes a million dates and booleans to CSV several
    times slower than it writes strings. The outcome and the measures are
    the table's generated columns."""
    flags = np.array(["f", "t"])
    # A period's rows together, in the order of the index the reports read
    # them by (period, then salesperson and customer): opening a month reads
    # a few runs of pages, not a page per row.
    rows = rows.sort_values(
        ["period_type", "period_start", "user_id", "partner_id"], kind="stable"
    )
    table = pd.DataFrame(
        {
            "company_id": company.id,
            "period_type": rows["period_type"].to_numpy(),
            "period_start": _day_text(rows["period_start"]),
            "next_period_end": _day_text(rows["next_period_end"]),
            "partner_id": rows["partner_id"].to_numpy(dtype="int64"),
            "revenue": rows["revenue"].to_numpy(dtype="float64").round(6),
        }
    )
    for column in ("returned", "returned_same_user", "complete"):
        table[column] = flags[rows[column].to_numpy(dtype=bool).astype(int)]
    for column in ("user_id", "team_id", "categ_id"):
        # 0 is "none": a NULL many2one, an empty CSV field
        ids = rows[column].to_numpy(dtype="int64")
        table[column] = np.where(ids > 0, ids.astype(str), "")
    return table


def _day_text(column):
    return pd.to_datetime(column).to_numpy().astype("datetime64[D]").astype(str)


def settle_report(company, today):
    """The rows whose following period ended by ``today`` are complete: the
    customers not back are now "did not come back". One statement on the
    rows still pending (a partial index), whatever the report's size."""
    cr = company.env.cr
    cr.execute(
        """
        UPDATE retention_report SET complete = TRUE
         WHERE company_id = %s AND NOT complete AND next_period_end <= %s
        """,
        [company.id, today],
    )
    return cr.rowcount


def _add(company, table, frame):
    """Append a chunk's share of a pulse table, hidden until :func:`finish`."""
    if frame.empty:
        return
    frame = frame.assign(company_id=company.id, building=True)
    retention_store._copy_in(company.env.cr, table, frame)


def add_pulse(company, visits):
    """Add this chunk's customers to the weekly pulse, the weekday and hour
    grid and the cohorts being built."""
    _add(company, "retention_pulse_week", weekly_pulse(visits).assign(series="this"))
    # only the rows with a time of day: orders, not invoices (see hour_grid)
    _add(company, "retention_visit_hour", hour_grid(visits))
    _add(company, "retention_cohort", cohorts(visits))


def months_to_rebuild(company, today, years):
    """The past month ends to reconstruct: the ``years`` before ``today``'s
    month, but those of which a run of the addon recorded the statuses."""
    cr = company.env.cr
    cr.execute(
        """
        SELECT DISTINCT date_trunc('month', month_end)::date
          FROM retention_status_month
         WHERE company_id = %s AND NOT reconstructed AND NOT building
        """,
        [company.id],
    )
    recorded = {row[0] for row in cr.fetchall()}
    return [
        day
        for day in month_ends(datetime.date(1900, 1, 1), today, 12 * years)
        if day.replace(day=1) not in recorded
    ]


def add_status_months(company, transactions, days, settings, groups=None):
    """Add this chunk's customers to the statuses at the past month ends
    ``days``, reconstructed from their orders (``groups``: their peer
    groups, when ``settings`` have peer groups' own thresholds)."""
    counts = status_by_month(transactions, days, settings, groups)
    _add(
        company,
        "retention_status_month",
        counts.drop(columns="company_id").assign(reconstructed=True),
    )


def finish(company, today, rebuilt_months):
    """Sum the chunks' shares of the pulse tables and swap them in; the
    weekly pulse gets its "same week a year earlier" series, the cohorts
    the months in which nobody of them bought (0, not missing), the
    statuses of this month from the stored values."""
    cr = company.env.cr
    params = {"company_id": company.id}
    cr.execute(
        """
        SELECT week, SUM(visits), SUM(customers) FROM retention_pulse_week
         WHERE company_id = %(company_id)s AND building GROUP BY week
        """,
        params,
    )
    weekly = pd.DataFrame(cr.fetchall(), columns=["week", "visits", "customers"])
    cr.execute(
        "DELETE FROM retention_pulse_week WHERE company_id = %(company_id)s", params
    )
    if not weekly.empty:
        this_week = pd.Timestamp(today) - pd.Timedelta(days=today.weekday())
        _swap_in(company, "retention_pulse_week", with_year_before(weekly, this_week))
    _replace_summed(
        company, "retention_visit_hour", ["month", "weekday", "hour"], ["visits"]
    )
    _replace_summed(
        company,
        "retention_cohort",
        ["cohort_month", "months_after"],
        ["customers"],
    )
    _complete_cohorts(company, today)
    if rebuilt_months:
        _replace_summed(
            company,
            "retention_status_month",
            ["month_end", "status", "reconstructed"],
            ["customers"],
            replaced=SQL("reconstructed"),
        )
    _this_month_statuses(company, today)
    _status_flows(company, today)
    # Fresh statistics for the planner after a night's writes (a first
    # build adds millions of rows): a sample, a second or two at a million
    # customers.
    cr.execute("ANALYZE retention_report")


def _swap_in(company, table, frame):
    retention_store._copy_in(
        company.env.cr, table, frame.assign(company_id=company.id, building=False)
    )


def _replace_summed(company, table, keys, sums, replaced=None):
    """The rows being built, summed per ``keys``, replace the table's rows
    (those matching ``replaced`` only, when given)."""
    cr = company.env.cr
    key_sql = SQL(", ").join(SQL.identifier(key) for key in keys)
    sum_sql = SQL(", ").join(SQL("SUM(%s)", SQL.identifier(name)) for name in sums)
    cr.execute(
        SQL(
            """
            WITH built AS (
                DELETE FROM %(table)s
                 WHERE company_id = %(company_id)s AND (building OR %(replaced)s)
             RETURNING *
            )
            INSERT INTO %(table)s (company_id, building, %(keys)s, %(names)s)
            SELECT %(company_id)s, FALSE, %(keys)s, %(sums)s
              FROM built WHERE building
          GROUP BY %(keys)s
            """,
            table=SQL.identifier(table),
            company_id=company.id,
            keys=key_sql,
            names=SQL(", ").join(SQL.identifier(name) for name in sums),
            sums=sum_sql,
            replaced=replaced or SQL("TRUE"),
        )
    )


def _complete_cohorts(company, today):
    """Every cohort gets its size on each row, and a row of 0 customers for
    each month since that nobody of it bought in: an empty cell of the
    matrix is a month still to come, never a 0 % left out."""
    cr = company.env.cr
    params = {"company_id": company.id, "today": today}
    cr.execute(
        """
        INSERT INTO retention_cohort
               (company_id, building, cohort_month, months_after, customers)
        SELECT size.company_id, FALSE, size.cohort_month, later.months_after, 0
          FROM retention_cohort size
         CROSS JOIN LATERAL generate_series(
                 1,
                 ((EXTRACT(YEAR FROM %(today)s::date) * 12
                   + EXTRACT(MONTH FROM %(today)s::date))
                  - (EXTRACT(YEAR FROM size.cohort_month) * 12
                     + EXTRACT(MONTH FROM size.cohort_month)))::int
               ) AS later(months_after)
         WHERE size.company_id = %(company_id)s AND size.months_after = 0
           AND NOT EXISTS (
                 SELECT 1 FROM retention_cohort other
                  WHERE other.company_id = size.company_id
                    AND other.cohort_month = size.cohort_month
                    AND other.months_after = later.months_after)
        """,
        params,
    )
    cr.execute(
        """
        UPDATE retention_cohort cell
           SET cohort_size = size.customers,
               share = ROUND(100.0 * cell.customers / NULLIF(size.customers, 0), 1)
          FROM retention_cohort size
         WHERE cell.company_id = %(company_id)s
           AND size.company_id = cell.company_id
           AND size.cohort_month = cell.cohort_month
           AND size.months_after = 0
        """,
        params,
    )


def _this_month_statuses(company, today):
    """The customers by status of this month: the stored statuses of the
    run that just ended, dated its day (replacing an earlier run's of the
    same month)."""
    cr = company.env.cr
    params = {"company_id": company.id, "today": today}
    cr.execute(
        """
        DELETE FROM retention_status_month
         WHERE company_id = %(company_id)s
           AND month_end >= date_trunc('month', %(today)s::date)
        """,
        params,
    )
    cr.execute(
        """
        INSERT INTO retention_status_month
               (company_id, building, month_end, status, customers, reconstructed)
        SELECT %(company_id)s, FALSE, %(today)s, status, COUNT(*), FALSE
          FROM retention_partner_state
         WHERE company_id = %(company_id)s AND status IS NOT NULL
      GROUP BY status
        """,
        params,
    )


def _status_flows(company, today):
    """The status changes of this month and the last, counted per month,
    from and to: the Status Flows report reads these few rows, not the
    changes (several million at a million customers). Older months do not
    change any more; those older than the history kept go with it."""
    cr = company.env.cr
    params = {"company_id": company.id, "today": today}
    cr.execute(
        """
        DELETE FROM retention_status_flow
         WHERE company_id = %(company_id)s
           AND month >= date_trunc('month', %(today)s::date) - interval '1 month'
        """,
        params,
    )
    cr.execute(
        """
        INSERT INTO retention_status_flow
               (company_id, month, old_status, new_status, customers)
        SELECT company_id, date_trunc('month', date)::date, old_status, new_status,
               COUNT(*)
          FROM retention_status_change
         WHERE company_id = %(company_id)s
           AND date >= date_trunc('month', %(today)s::date) - interval '1 month'
      GROUP BY 1, 2, 3, 4
        """,
        params,
    )
    cr.execute(
        """
        DELETE FROM retention_status_flow f
         WHERE company_id = %(company_id)s
           AND month < (SELECT COALESCE(date_trunc('month', MIN(date)), 'infinity')
                          FROM retention_status_change
                         WHERE company_id = %(company_id)s)
        """,
        params,
    )
