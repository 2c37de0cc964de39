# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Set-based reads and writes between PostgreSQL and the retention engine.

Nothing here decides a business rule: it turns order or invoice rows into the
engine's transaction table and writes the engine's metric table back into the
company-dependent (jsonb) columns of ``res_partner``, in a few statements per
batch whatever the number of customers.
"""

import contextlib
import io
import threading
import time as clock
from datetime import datetime, time, timedelta

import numpy as np
import pandas as pd
import pytz

from odoo import sql_db
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..engine import TRANSACTION_COLUMNS

# One row per (customer, local day, product category, visit-or-refund): the
# engine merges the rest. Amounts are untaxed and in the company currency.
_SALE_QUERY = """
    SELECT so.company_id,
           customer.commercial_partner_id,
           (so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date,
           -- sale.order.currency_rate is "order currency per company currency"
           -- at the order date, as in Odoo's own sale.report.
           COALESCE(SUM(line.price_subtotal
                        / COALESCE(NULLIF(so.currency_rate, 0), 1.0)), 0),
           TRUE,
           COALESCE(tmpl.categ_id, 0)
      FROM sale_order so
      JOIN res_partner customer ON customer.id = so.partner_id
 LEFT JOIN sale_order_line line ON line.order_id = so.id AND line.display_type IS NULL
 LEFT JOIN product_product product ON product.id = line.product_id
 LEFT JOIN product_template tmpl ON tmpl.id = product.product_tmpl_id
     WHERE so.state = 'sale'
       AND so.company_id = %(company_id)s
       AND so.date_order >= %(start_utc)s
       AND so.date_order < %(end_utc)s
       {partner_filter}
  GROUP BY 1, 2, 3, 6
"""

# Posted invoices are visits; credit notes lower revenue without being visits.
# Product lines carry the untaxed amount in company currency in ``balance``
# (negative for income), hence the sign.
_INVOICE_QUERY = """
    SELECT move.company_id,
           move.commercial_partner_id,
           move.invoice_date,
           COALESCE(SUM(-line.balance), 0),
           move.move_type = 'out_invoice',
           COALESCE(tmpl.categ_id, 0)
      FROM account_move move
 LEFT JOIN account_move_line line
        ON line.move_id = move.id AND line.display_type = 'product'
 LEFT JOIN product_product product ON product.id = line.product_id
 LEFT JOIN product_template tmpl ON tmpl.id = product.product_tmpl_id
     WHERE move.state = 'posted'
       AND move.move_type IN ('out_invoice', 'out_refund')
       AND move.company_id = %(company_id)s
       AND move.invoice_date >= %(date_from)s
       AND move.invoice_date <= %(as_of)s
       AND move.commercial_partner_id IS NOT NULL
       {partner_filter}
  GROUP BY 1, 2, 3, 5, 6
"""


def create_change_index(model):
    """The index on (company_id, write_date) of an order or invoice table:
    the hourly update looks for the records of a company written since its
    last run, without it a scan of the table."""
    create_index(
        model.env.cr,
        f"{model._table}_retention_company_write_date_idx",
        model._table,
        ["company_id", "write_date"],
    )


def company_timezone(company):
    """Orders are grouped into days of the company's own clock."""
    tz = company.partner_id.tz or "UTC"
    return tz if tz in pytz.all_timezones_set else "UTC"


def _copy_to_frame(cr, query, params, columns):
    """Stream a query through COPY: an order of magnitude faster than
    fetchall() for millions of rows."""
    buffer = io.StringIO()
    sql = cr.mogrify(query, params).decode()
    cr.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", buffer)
    buffer.seek(0)
    if not buffer.getvalue():
        return pd.DataFrame(columns=columns)
    return pd.read_csv(buffer, header=None, names=columns)


def local_day_start_utc(company, day):
    """The UTC instant at which ``day`` begins on the company's clock."""
    tz = pytz.timezone(company_timezone(company))
    return (
        tz.localize(datetime.combine(day, time.min))
        .astimezone(pytz.utc)
        .replace(tzinfo=None)
    )


# No order is dated before this day: the extract's lower bound when none is given.
_BEGINNING = datetime(1900, 1, 1).date()


def extract_transactions(company, as_of, partner_ids=None, date_from=None):
    """Transactions of ``company`` dated on or before ``as_of`` (a date of
    the company's clock) as the engine's table; ``partner_ids`` limits it to
    these commercial partners, ``date_from`` to days from that one on. The
    one definition of a purchase: the recompute and the win-back measurement
    both read it here."""
    date_from = date_from or _BEGINNING
    params = {
        "company_id": company.id,
        "tz": company_timezone(company),
        "as_of": as_of,
        "date_from": date_from,
        "start_utc": local_day_start_utc(company, date_from),
        "end_utc": local_day_start_utc(company, as_of + timedelta(days=1)),
        "partner_ids": list(partner_ids or []),
    }
    if company.retention_source == "invoice":
        query, partner_column = _INVOICE_QUERY, "move.partner_id"
    else:
        query, partner_column = _SALE_QUERY, "so.partner_id"
    # Through the indexed partner_id of the orders: filtering on the joined
    # customer's commercial partner made PostgreSQL read every order (13 s
    # for 1,000 customers out of a million).
    partner_filter = (
        f"AND {partner_column} IN (SELECT id FROM res_partner"
        " WHERE commercial_partner_id = ANY(%(partner_ids)s))"
        if partner_ids is not None
        else ""
    )
    frame = _copy_to_frame(
        company.env.cr,
        query.format(partner_filter=partner_filter),
        params,
        TRANSACTION_COLUMNS,
    )
    frame["date"] = pd.to_datetime(frame["date"])
    frame["is_visit"] = frame["is_visit"].astype(str).str.lower().isin(["t", "true"])
    return frame


# Two recomputes of one company never run at once: a PostgreSQL advisory
# lock, keyed by this number and the company id, held by the run.
_LOCK_NAMESPACE = 0x52455445  # "RETE"


class RecomputeBusy(Exception):
    """Another recompute of the company holds its lock."""


@contextlib.contextmanager
def company_lock(cr, company_id, wait=0.0):
    """Hold the company's recompute lock for the duration of the block, or
    raise RecomputeBusy after trying for ``wait`` seconds.

    The lock is a session lock on a connection of its own: it survives the
    commits of the cron's batches (a transaction lock would not), it is not
    lost when the work's transaction fails, and it is released explicitly,
    or by PostgreSQL when a killed worker's connection closes."""
    holder = sql_db.db_connect(cr.dbname).cursor()
    try:
        deadline = clock.monotonic() + wait
        while True:
            holder.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, company_id]
            )
            locked = holder.fetchone()[0]
            holder.commit()
            if locked:
                break
            if clock.monotonic() >= deadline:
                raise RecomputeBusy(company_id)
            clock.sleep(0.5)
        try:
            yield
        finally:
            holder.execute(
                "SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, company_id]
            )
            holder.commit()
    finally:
        holder.close()


def testing():
    """Odoo's own convention (sms.sms._process_queue): no commit in tests,
    whose cursor is shared by the whole test."""
    return getattr(threading.current_thread(), "testing", False)


@contextlib.contextmanager
def isolated(cr, committing):
    """One unit of work of a cron whose failure undoes only itself: with
    ``committing`` (a real cron) what came before is committed first and a
    failure is rolled back; otherwise (tests, whose cursor may not commit)
    the unit runs in a savepoint."""
    if not committing:
        with cr.savepoint():
            yield
        return
    # A cron's unit of work: what came before is kept whatever happens to
    # this one (the crons' own isolation; never called in a request).
    cr.commit()  # pylint: disable=invalid-commit
    try:
        yield
    except Exception:
        cr.rollback()
        raise


# write_date is the start of the writing transaction: an order whose
# transaction began before an extract and committed after it has an older
# write_date than the extract, yet the extract did not see it. The changed
# customers are therefore looked up from this long before the last run.
CHANGE_OVERLAP = timedelta(hours=1)
# A company updated by the hourly job this recently is not due again.
HOURLY_SLACK = timedelta(minutes=30)
# A recompute asked for from the web client or RPC waits this many seconds
# for another one of the company to end, then gives a clear error.
UI_LOCK_WAIT = 5
# The daily job waits this many seconds for another recompute of a company
# to end, then comes back this much later.
CRON_LOCK_WAIT = 10
BUSY_RETRY = timedelta(minutes=5)


def changed_customers(company, since):
    """Commercial partners whose orders (or invoices) of ``company`` were
    created, changed or cancelled since ``since`` (less CHANGE_OVERLAP)."""
    if company.retention_source == "invoice":
        query = """
            SELECT DISTINCT commercial_partner_id FROM account_move
             WHERE company_id = %(company_id)s AND write_date >= %(since)s
               AND move_type IN ('out_invoice', 'out_refund')
               AND commercial_partner_id IS NOT NULL
        """
    else:
        query = """
            SELECT DISTINCT customer.commercial_partner_id
              FROM sale_order so
              JOIN res_partner customer ON customer.id = so.partner_id
             WHERE so.company_id = %(company_id)s AND so.write_date >= %(since)s
        """
    company.env.cr.execute(
        query, {"company_id": company.id, "since": since - CHANGE_OVERLAP}
    )
    return [row[0] for row in company.env.cr.fetchall()]


def extract_groups(company, partner_ids):
    """Peer-group value of each customer, from the res.partner field chosen in
    the company settings; None when the company ranks all customers together."""
    field_name = company.retention_group_field
    if not field_name or field_name == "none":
        return None
    partner_model = company.env["res.partner"]
    if field_name not in partner_model._fields:
        return None
    column = partner_model._fields[field_name]
    if not column.store or column.company_dependent:
        return None
    cr = company.env.cr
    cr.execute(
        f'SELECT id, "{field_name}" FROM res_partner WHERE id = ANY(%s)',  # noqa: S608 (whitelisted name)
        [list(map(int, partner_ids))],
    )
    frame = pd.DataFrame(cr.fetchall(), columns=["partner_id", "group_key"])
    frame.insert(0, "company_id", company.id)
    return frame


def extract_peer_revenue(company, groups, exclude_ids):
    """Stored window revenue of the other customers in the groups of the
    customers being recomputed: a partial recompute ranks against them."""
    field_name = company.retention_group_field
    cr = company.env.cr
    company_key = str(company.id)
    group_column = f'"{field_name}"' if groups is not None else "NULL"
    group_filter = ""
    params = {"company_key": company_key, "exclude": list(exclude_ids)}
    if groups is not None:
        keys = groups["group_key"].dropna().astype(int).unique().tolist()
        group_filter = f"AND ({group_column} = ANY(%(keys)s)"
        group_filter += (
            f" OR {group_column} IS NULL)" if groups["group_key"].isna().any() else ")"
        )
        params["keys"] = keys
    cr.execute(
        f"""
        SELECT {group_column}, (retention_revenue ->> %(company_key)s)::float8
          FROM res_partner
         WHERE retention_revenue ? %(company_key)s
           AND (retention_revenue ->> %(company_key)s)::float8 > 0
           AND NOT (id = ANY(%(exclude)s))
           {group_filter}
        """,
        params,
    )
    frame = pd.DataFrame(cr.fetchall(), columns=["group_key", "revenue"])
    frame.insert(0, "company_id", company.id)
    return frame


# (field, engine column, PostgreSQL type of the value handed to jsonb)
WRITTEN_FIELDS = [
    ("retention_first_order_date", "first_order_date", "date"),
    ("retention_last_order_date", "last_order_date", "date"),
    ("retention_visit_count", "visit_count", "int4"),
    ("retention_revenue", "revenue", "float8"),
    ("retention_avg_ticket", "avg_ticket", "float8"),
    ("retention_cadence_days", "cadence_days", "float8"),
    ("retention_days_since_last", "days_since_last", "int4"),
    ("retention_next_order_date", "next_order_date", "date"),
    ("retention_status", "status", "text"),
    ("retention_overdue", "overdue", "bool"),
    ("retention_trend_pct", "trend_pct", "float8"),
    ("retention_group_top_pct", "group_top_pct", "float8"),
    ("retention_group_tier", "group_tier", "text"),
    ("retention_profile", "profile", "text"),
    ("retention_alert", "alert", "text"),
    ("retention_action", "action", "text"),
    ("retention_reason", "reason", "text"),
]
COMPUTED_AT_FIELD = "retention_computed_at"
ALL_FIELDS = [name for name, _column, _type in WRITTEN_FIELDS] + [COMPUTED_AT_FIELD]


def _jsonb_value(sql_type, expression):
    """Odoo reads company-dependent dates and datetimes back from jsonb
    strings in its own formats."""
    if sql_type == "date":
        return f"to_char({expression}, 'YYYY-MM-DD')"
    if sql_type == "timestamp":
        return f"to_char({expression}, 'YYYY-MM-DD HH24:MI:SS')"
    return expression


def _set_company_value(column, value_expression):
    """Replace the company's key in a company-dependent column; a NULL value
    removes the key, an emptied column becomes NULL again."""
    return (
        f'"{column}" = NULLIF((COALESCE(p."{column}", \'{{}}\'::jsonb)'
        " - %(company_key)s)"
        " || jsonb_strip_nulls(jsonb_build_object(%(company_key)s,"
        f" {value_expression})),"
        f" '{{}}'::jsonb)"
    )


_WRITE_BATCH = 5000


def _stage_metrics(cr, metrics):
    """COPY the engine's rows into a temporary table with typed columns: no
    huge SQL literals to build, send and parse, whatever the row count."""
    cr.execute("DROP TABLE IF EXISTS retention_stage")
    columns = SQL(", ").join(
        SQL("%s %s", SQL.identifier(column), SQL(sql_type))
        for _f, column, sql_type in WRITTEN_FIELDS
    )
    # kept across the commits between batches; dropped at the end
    cr.execute(
        SQL("CREATE TEMP TABLE retention_stage (row_number int4, id int4, %s)", columns)
    )
    frame = metrics[
        ["partner_id"] + [column for _f, column, _t in WRITTEN_FIELDS]
    ].copy()
    for _field, column, sql_type in WRITTEN_FIELDS:
        # dates go as "YYYY-MM-DD 00:00:00", which PostgreSQL reads as dates
        if sql_type == "int4":
            frame[column] = frame[column].astype("Int64")
    frame.insert(0, "row_number", np.arange(len(frame), dtype=np.int64))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    cr.copy_expert("COPY retention_stage FROM STDIN WITH (FORMAT csv)", buffer)


def write_metrics(company, metrics, computed_at, commit=False):
    """Write one engine row per partner into the company's key of each
    retention column: the rows are staged with COPY, then copied into
    res_partner by UPDATE ... FROM in batches of 5,000. With ``commit``
    (the cron) each batch is committed, so a user editing a customer or
    confirming an order never waits for more than one batch's row locks."""
    cr = company.env.cr
    if commit:
        # End the reading transaction; each batch is then its own READ
        # COMMITTED transaction: a customer edited meanwhile is written on
        # top of the edit instead of failing the run with a serialization
        # error, as Odoo's default REPEATABLE READ would. Only the cron
        # asks for it, outside tests (see res.company._retention_recompute).
        cr.commit()  # pylint: disable=invalid-commit
        cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
    _stage_metrics(cr, metrics)
    assignments = [
        _set_company_value(field, _jsonb_value(sql_type, f"v.{column}"))
        for field, column, sql_type in WRITTEN_FIELDS
    ]
    assignments.append(
        _set_company_value(
            COMPUTED_AT_FIELD, _jsonb_value("timestamp", "%(computed_at)s::timestamp")
        )
    )
    query = f"""
        UPDATE res_partner p SET {", ".join(assignments)}
          FROM retention_stage v
         WHERE p.id = v.id AND v.row_number >= %(start)s AND v.row_number < %(stop)s
    """
    for start in range(0, len(metrics), _WRITE_BATCH):
        cr.execute(
            query,
            {
                "company_key": str(company.id),
                "computed_at": computed_at,
                "start": start,
                "stop": start + _WRITE_BATCH,
            },
        )
        if commit:
            # row locks of one batch at a time (see above)
            cr.commit()  # pylint: disable=invalid-commit
            # also for what follows the last batch (stale values, last run)
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
    cr.execute("DROP TABLE retention_stage")


def clear_stale(company, written_partner_ids, scope_partner_ids=None):
    """Partners that carry values for this company but were not written by
    this run (all their orders cancelled, say) lose them, so nothing stale
    stays behind. ``scope_partner_ids`` limits the check to the partners a
    partial recompute was asked for."""
    cr = company.env.cr
    scope = "AND id = ANY(%(scope)s)" if scope_partner_ids is not None else ""
    cr.execute(
        f'SELECT id FROM res_partner WHERE "{COMPUTED_AT_FIELD}" ? %(company_key)s'
        f" {scope}",
        {"company_key": str(company.id), "scope": list(scope_partner_ids or [])},
    )
    carrying = np.fromiter((row[0] for row in cr.fetchall()), dtype=np.int64)
    stale = np.setdiff1d(carrying, np.asarray(written_partner_ids, dtype=np.int64))
    if not len(stale):
        return 0
    assignments = ", ".join(
        f'"{field}" = NULLIF("{field}" - %(company_key)s, \'{{}}\'::jsonb)'
        for field in ALL_FIELDS
    )
    cr.execute(
        f"UPDATE res_partner SET {assignments} WHERE id = ANY(%(stale)s)",
        {"company_key": str(company.id), "stale": stale.tolist()},
    )
    return len(stale)
