# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Set-based reads and writes between PostgreSQL and the retention engine.

Nothing here decides a business rule: it turns the rows of the company's
sources (orders, invoices, point-of-sale orders: retention_sources.py) into
the engine's transaction table and writes the engine's metric table into
``retention_partner_state`` (one narrow row per company and customer), in a
few statements per chunk whatever the number of customers, and only the rows
whose values changed.
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

from ..engine import RANK_COLUMNS, TRANSACTION_COLUMNS
from . import retention_rules, retention_sources


def company_timezone(company):
    """Orders are grouped into days of the company's own clock."""
    tz = company.partner_id.tz or "UTC"
    return tz if tz in pytz.all_timezones_set else "UTC"


def _copy_to_frame(cr, query, params, columns, dtype=None):
    """Stream a query through COPY: an order of magnitude faster than
    fetchall() for millions of rows."""
    buffer = io.StringIO()
    sql = cr.mogrify(query, params).decode()
    cr.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", buffer)
    buffer.seek(0)
    if not buffer.getvalue():
        return pd.DataFrame(columns=columns)
    frame = pd.read_csv(buffer, header=None, names=columns, dtype=dtype)
    del buffer
    return frame


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


def _partner_filter(partner_ids=None, chunk=None):
    """The extracts' condition on the customers, per source: ``partner_ids``
    (commercial partners, as %(partner_ids)s), or the ``chunk`` range (as
    %(chunk_after)s and %(chunk_last)s), or none."""

    def condition(source):
        # Through the indexed partner of the documents as well: filtering on
        # the joined customer's commercial partner alone made PostgreSQL read
        # every order (13 s for 1,000 customers out of a million); on the
        # orders' partner alone, it read every partner to join them.
        column = source.partner_column
        if partner_ids is not None:
            return (
                f"AND {column} IN (SELECT id FROM res_partner"
                " WHERE commercial_partner_id = ANY(%(partner_ids)s))"
                f" AND {source.customer} = ANY(%(partner_ids)s)"
            )
        if chunk:
            return (
                f"AND {column} IN (SELECT id FROM res_partner"
                " WHERE commercial_partner_id > %(chunk_after)s"
                + (" AND commercial_partner_id <= %(chunk_last)s)" if chunk[1] else ")")
            )
        return ""

    return condition


def _extract_query(
    company,
    as_of,
    partner_ids=None,
    date_from=None,
    chunk=None,
    shape=retention_sources.transactions_query,
):
    """The extract's SQL and parameters (see :func:`extract_transactions`):
    the company's sources (:mod:`retention_sources`) in the given ``shape``,
    the transactions by default."""
    date_from = date_from or _BEGINNING
    params = {
        "company_id": company.id,
        "tz": company_timezone(company),
        "as_of": as_of,
        "date_from": date_from,
        "start_utc": local_day_start_utc(company, date_from),
        "end_utc": local_day_start_utc(company, as_of + timedelta(days=1)),
        "partner_ids": list(partner_ids or []),
        "chunk_after": chunk[0] if chunk else None,
        "chunk_last": chunk[1] if chunk else None,
        # the till's anonymous customer is nobody's retention (0: none)
        "walk_in": company.retention_walk_in_id.commercial_partner_id.id or 0,
    }
    sources = retention_sources.company_sources(company)
    return shape(sources, _partner_filter(partner_ids, chunk)), params


# The extracts' boolean columns, which COPY writes as t/f.
_FLAGS = ("is_visit", "has_time")


def read_extract(company, query, params, columns):
    """An extract's rows as a frame of ``columns``, its flags (``is_visit``,
    ``has_time``) as booleans."""
    frame = _copy_to_frame(company.env.cr, query, params, columns)
    for flag in _FLAGS:
        if flag in frame:
            frame[flag] = frame[flag].astype(str).str.lower().isin(["t", "true"])
    return frame


def extract_transactions(company, as_of, partner_ids=None, date_from=None, chunk=None):
    """Transactions of ``company`` dated on or before ``as_of`` (a date of
    the company's clock) as the engine's table; ``partner_ids`` limits it to
    these commercial partners, ``chunk`` (after, last) to the commercial
    partners with an id in ]after, last] (last None: no end), ``date_from``
    to days from that one on. The one definition of a purchase: the
    recompute, its ranks and the win-back measurement all read it here."""
    query, params = _extract_query(company, as_of, partner_ids, date_from, chunk)
    frame = read_extract(company, query, params, TRANSACTION_COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


# Two recomputes of one company never run at once: a PostgreSQL advisory
# lock, keyed by this number and the company id, held by the run.
_LOCK_NAMESPACE = 0x52455445  # "RETE"


class RecomputeBusy(Exception):
    """Another recompute of the company holds its lock."""


@contextlib.contextmanager
def company_lock(cr, company_id, wait=0.0, shared=False):
    """Hold the company's recompute lock for the duration of the block, or
    raise RecomputeBusy after trying for ``wait`` seconds. ``shared``: in
    shared mode, which the chunks of one phase done side by side by
    queue_job's workers hold together (retention_run_queue).

    The lock is a session lock on a connection of its own: it survives the
    commits of the cron's batches (a transaction lock would not), it is not
    lost when the work's transaction fails, and it is released explicitly,
    or by PostgreSQL when a killed worker's connection closes."""
    holder = sql_db.db_connect(cr.dbname).cursor()
    try:
        deadline = clock.monotonic() + wait
        mode = "_shared" if shared else ""
        while True:
            holder.execute(
                f"SELECT pg_try_advisory_lock{mode}(%s, %s)",  # noqa: S608 (one of two names)
                [_LOCK_NAMESPACE, company_id],
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
                f"SELECT pg_advisory_unlock{mode}(%s, %s)",  # noqa: S608 (one of two names)
                [_LOCK_NAMESPACE, company_id],
            )
            holder.commit()
    finally:
        holder.close()


def testing():
    """Odoo's own convention (sms.sms._process_queue): no commit in tests,
    whose cursor is shared by the whole test."""
    return getattr(threading.current_thread(), "testing", False)


# write_date is the start of the writing transaction: an order whose
# transaction began before an extract and committed after it has an older
# write_date than the extract, yet the extract did not see it. The changed
# customers are therefore looked up from this long before the last run.
CHANGE_OVERLAP = timedelta(hours=1)
# A recompute asked for from the web client or RPC waits this many seconds
# for another one of the company to end, then gives a clear error.
UI_LOCK_WAIT = 5
# Work a user's request may do itself (issue 21): the Retention tab's
# Recompute takes at most this many customers (a few tenths of a second);
# a whole-company recompute over RPC runs in the request only for a company
# with at most REQUEST_MAX_DOCUMENTS sales documents (orders, invoices and
# point-of-sale orders: a few seconds), else the daily job does it.
REQUEST_MAX_CUSTOMERS = 20
REQUEST_MAX_DOCUMENTS = 20_000
# Commercial partners per chunk of a whole-company run: about 10 orders
# each, a chunk of the benchmark's L takes a few seconds and well under
# 1 GB, whatever the database's size.
CHUNK_CUSTOMERS = 50_000
# Commercial partners per chunk of Retention Analysis: the first build
# writes about 20 rows of the period report per customer (month, quarter and
# year, per salesperson and category) and reconstructs three years of month
# ends; half a chunk of the recompute stays within a call's budget.
CHUNK_HISTORY = 25_000


def documents_exceed(company, bound):
    """Whether ``company`` has more than ``bound`` sales documents of any
    source (confirmed orders, posted customer invoices and credit notes,
    paid point-of-sale orders): each source is read up to ``bound + 1``
    rows, so the answer costs the same at any size."""
    queries = [
        "SELECT 1 FROM sale_order WHERE company_id = %(company)s"
        " AND state = 'sale' LIMIT %(limit)s",
        "SELECT 1 FROM account_move WHERE company_id = %(company)s"
        " AND state = 'posted' AND move_type IN ('out_invoice', 'out_refund')"
        " LIMIT %(limit)s",
    ]
    if "pos.order" in company.env:
        queries.append(
            "SELECT 1 FROM pos_order WHERE company_id = %(company)s"
            " AND state IN ('paid', 'done', 'invoiced') LIMIT %(limit)s"
        )
    cr = company.env.cr
    total = 0
    for query in queries:
        cr.execute(
            f"SELECT count(*) FROM ({query}) AS documents",
            {"company": company.id, "limit": bound + 1},
        )
        total += cr.fetchone()[0]
        if total > bound:
            return True
    return False


def changed_customers(company, since, chunk=None):
    """Commercial partners whose documents of ``company`` (those of its
    sources: orders, invoices, point-of-sale orders) were created, changed
    or cancelled since ``since`` (less CHANGE_OVERLAP), or moved to another
    customer (retention.moved.customer); in the ``chunk`` range only, when
    given."""
    query = retention_sources.changed_query(retention_sources.company_sources(company))
    # and those a document or a contact moved away from (or a contact to)
    moved = """
    SELECT partner_id FROM retention_moved_customer
     WHERE moved_at >= %(since)s
       AND (company_id = %(company_id)s OR company_id IS NULL)"""
    query = SQL(
        f"SELECT DISTINCT partner_id FROM ({query} UNION ALL {moved}) changed",  # noqa: S608 (fixed fragments)
        company_id=company.id,
        since=since - CHANGE_OVERLAP,
    )
    if chunk:
        query = SQL("%s WHERE %s", query, _range(chunk))
    company.env.cr.execute(query)
    return [row[0] for row in company.env.cr.fetchall()]


def dated_customers(company, date_from, as_of, chunk=None):
    """Commercial partners with a counted document of ``company`` dated
    from ``date_from`` to ``as_of`` (its local days); in the ``chunk``
    range only, when given. With the changed ones (:func:`changed_customers`)
    since a run of ``date_from``, the customers whose purchases as of
    ``as_of`` differ from those it saw: a document dated ahead of that run
    comes into view on its day without being written again."""
    query, params = _extract_query(
        company,
        as_of,
        date_from=date_from,
        chunk=chunk,
        shape=retention_sources.customers_query,
    )
    company.env.cr.execute(query, params)
    return [row[0] for row in company.env.cr.fetchall()]


def group_column(company):
    """The res_partner column that holds the company's peer group, or None
    when the company ranks all customers together."""
    field_name = company.retention_group_field
    if not field_name or field_name == "none":
        return None
    field = company.env["res.partner"]._fields.get(field_name)
    if field is None or not field.store or field.company_dependent:
        return None
    return field_name


def extract_groups(company, partner_ids):
    """Peer-group value of each customer, from the res.partner field chosen in
    the company settings; None when the company ranks all customers together."""
    field_name = group_column(company)
    if not field_name:
        return None
    cr = company.env.cr
    cr.execute(
        f'SELECT id, "{field_name}" FROM res_partner WHERE id = ANY(%s)',  # noqa: S608 (whitelisted name)
        [list(map(int, partner_ids))],
    )
    frame = pd.DataFrame(cr.fetchall(), columns=["partner_id", "group_key"])
    frame.insert(0, "company_id", company.id)
    return frame


def peer_counter(company, exclude_ids):
    """The peers of a partial recompute, counted in PostgreSQL: the engine's
    peer counter (engine.metrics.count_peers_in, whose ranks are those of
    one list of everybody) over the stored window revenue of the company's
    customers but ``exclude_ids`` (those recomputed). For each revenue
    asked, in its group, how many stored revenues are strictly above it and
    how many are positive: one aggregate per call, whatever the number of
    peers, where reading them (a million rows at L) took most of the hourly
    job's time. Stored revenues are already rounded to the currency (the
    engine writes them so)."""
    field_name = group_column(company)
    cr = company.env.cr
    column = f'p."{field_name}"' if field_name else "NULL::int"
    join = "JOIN res_partner p ON p.id = s.partner_id" if field_name else ""

    def count(thresholds):
        keys = [-1 if pd.isna(key) else int(key) for key in thresholds["group_key"]]
        revenues = thresholds["revenue"].astype("float64").tolist()
        # width_bucket(r, bounds) is the number of a group's sorted bounds
        # at or below r; "equal": r is that bound itself.
        cr.execute(
            f"""
            WITH bounds AS (
                SELECT key, array_agg(DISTINCT revenue ORDER BY revenue) AS bounds
                  FROM unnest(%(keys)s::int[], %(revenues)s::float8[])
                       AS t(key, revenue)
              GROUP BY key
            ), peers AS (
                SELECT COALESCE({column}, -1) AS key, s.revenue
                  FROM retention_partner_state s
                  {join}
                 WHERE s.company_id = %(company_id)s
                   AND s.revenue > 0
                   AND NOT (s.partner_id = ANY(%(exclude)s))
            ), bucketed AS (
                SELECT p.key, p.revenue, b.bounds,
                       width_bucket(p.revenue, b.bounds) AS bucket
                  FROM peers p JOIN bounds b ON b.key = p.key
            ), placed AS (
                SELECT key, bucket,
                       revenue = bounds[GREATEST(bucket, 1)] AS equal
                  FROM bucketed
            )
            SELECT key, bucket, equal, count(*) FROM placed GROUP BY key, bucket, equal
            """,  # noqa: S608 (whitelisted column name)
            {
                "keys": keys,
                "revenues": revenues,
                "company_id": company.id,
                "exclude": [int(pid) for pid in exclude_ids],
            },
        )
        placed = {}
        for key, bucket, equal, number in cr.fetchall():
            placed.setdefault(key, []).append((bucket, equal, number))
        above = np.zeros(len(keys), dtype="int64")
        total = np.zeros(len(keys), dtype="int64")
        by_key = {}
        for index, key in enumerate(keys):
            by_key.setdefault(key, []).append(index)
        for key, indexes in by_key.items():
            rows = placed.get(key, [])
            if not rows:
                continue
            bounds = sorted(set(revenues[index] for index in indexes))
            # peers per bucket (0 = below every bound), and those equal to
            # their bucket's bound
            in_bucket = np.zeros(len(bounds) + 1, dtype="int64")
            equal_to = np.zeros(len(bounds) + 1, dtype="int64")
            for bucket, equal, number in rows:
                in_bucket[bucket] += number
                if equal:
                    equal_to[bucket] += number
            # strictly above bound i (1-based): the buckets after i, and
            # those of bucket i that are not the bound itself
            after = np.append(in_bucket[::-1].cumsum()[::-1], 0)
            positions = np.searchsorted(bounds, [revenues[i] for i in indexes]) + 1
            above[indexes] = (
                after[positions + 1] + in_bucket[positions] - equal_to[positions]
            )
            total[indexes] = in_bucket.sum()
        return pd.DataFrame({"above": above, "peers": total}, index=thresholds.index)

    return count


def _copy_in(cr, table, frame):
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    columns = ", ".join(frame.columns)
    cr.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)


def customers_scope(partner_ids=None, chunk=None):
    """The condition on ``partner_id`` of the rows a step writes: those of
    ``partner_ids``, or of the ``chunk`` range."""
    if partner_ids is not None:
        return SQL("partner_id = ANY(%s)", list(partner_ids))
    return _range(chunk)


def _range(chunk, alias=None):
    after, last = chunk
    column = SQL.identifier(alias, "partner_id") if alias else SQL("partner_id")
    condition = SQL("%s > %s", column, after)
    if last is not None:
        condition = SQL("%s AND %s <= %s", condition, column, last)
    return condition


def stored_ranks(company, chunk):
    """The stored ranks of the customers of ``chunk``: a chunk of a run is
    computed with them, then :func:`rank_inputs` and the engine's rerank
    rank everybody again once all chunks are done."""
    cr = company.env.cr
    cr.execute(
        SQL(
            """
            SELECT company_id, partner_id, group_top_pct FROM retention_partner_state
             WHERE company_id = %s AND %s AND group_top_pct IS NOT NULL
            """,
            company.id,
            _range(chunk),
        )
    )
    return pd.DataFrame(
        cr.fetchall(), columns=["company_id", "partner_id", "group_top_pct"]
    )


# What the engine's rerank reads of every stored row, besides its rank columns.
RANK_INPUTS = (
    "revenue",
    "status",
    "last_order_date",
    "lifetime_visits",
    "visits_365",
    "top_category_share",
)


def rank_inputs(company):
    """Every stored row of the company with what ranking it again needs and
    its current rank columns, and each customer's peer group, as frames
    (rows, groups). One narrow table read: a few seconds at a million."""
    field_name = group_column(company)
    names = RANK_INPUTS + RANK_COLUMNS
    query = SQL(
        """
        SELECT s.company_id, s.partner_id, %s, %s
          FROM retention_partner_state s
          JOIN res_partner p ON p.id = s.partner_id
         WHERE s.company_id = %s
        """,
        SQL("p.%s", SQL.identifier(field_name)) if field_name else SQL("NULL"),
        SQL(", ").join(SQL.identifier("s", name) for name in names),
        company.id,
    )
    # A million rows: the few distinct words as categories, not strings.
    words = ("status", "group_tier", "profile", "alert", "action")
    frame = _copy_to_frame(
        company.env.cr,
        query.code,
        query.params,
        ["company_id", "partner_id", "group_key", *names],
        dtype=dict.fromkeys(words, "category"),
    )
    groups = None
    if field_name:
        groups = frame[["company_id", "partner_id", "group_key"]]
    return frame.drop(columns="group_key"), groups


def _rank_stage(company):
    return f"retention_rank_stage_{int(company.id)}"


def stage_ranks(company, ranked):
    """Keep the rank columns of the rows whose ranks changed (``ranked``:
    partner_id and RANK_COLUMNS) in a work table of the company's, for
    :func:`write_ranks` to write a chunk at a time: on the first night they
    are every row, a single UPDATE of half a minute at a million. A real
    (unlogged) table: the chunks come in later transactions, or in other
    workers' jobs. :func:`drop_ranks` drops it."""
    cr = company.env.cr
    table = _rank_stage(company)
    _stage(cr, table, ranked[["partner_id", *RANK_COLUMNS]], unlogged=True)
    cr.execute(SQL("CREATE INDEX ON %s (partner_id)", SQL.identifier(table)))


def drop_ranks(company):
    """Drop the work table of :func:`stage_ranks`."""
    cr = company.env.cr
    cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(_rank_stage(company))))


def write_ranks(company, chunk, now, run_started):
    """Write the staged rank columns (:func:`stage_ranks`) of the rows of
    ``chunk``; returns how many rows were written, and how many of them the
    run had not written before (its chunks may have)."""
    cr = company.env.cr
    stage = SQL.identifier(_rank_stage(company))
    scope = _range(chunk, "v")
    cr.execute(
        SQL(
            """
            SELECT count(*) FROM retention_partner_state s
              JOIN %s v ON v.partner_id = s.partner_id
             WHERE s.company_id = %s AND %s AND s.changed_at < %s
            """,
            stage,
            company.id,
            scope,
            run_started,
        )
    )
    fresh = cr.fetchone()[0]
    cr.execute(
        SQL(
            """
            UPDATE retention_partner_state s
               SET changed_at = %s, %s
              FROM %s v
             WHERE s.company_id = %s AND s.partner_id = v.partner_id AND %s
            """,
            now,
            SQL(", ").join(
                SQL("%s = %s", SQL.identifier(name), SQL.identifier("v", name))
                for name in RANK_COLUMNS
            ),
            stage,
            company.id,
            scope,
        )
    )
    return cr.rowcount, fresh


def next_chunk(company, after, size):
    """The chunk of commercial partners that follows id ``after``: (after,
    last) with ``size`` commercial partners, last None when it is the last
    chunk. Partners who are not customers are counted too: the bound is found
    on the primary key alone, in milliseconds, whatever the table's size."""
    cr = company.env.cr
    cr.execute(
        """
        SELECT id FROM res_partner
         WHERE id > %s AND id = commercial_partner_id
      ORDER BY id OFFSET %s LIMIT 1
        """,
        [after, size - 1],
    )
    row = cr.fetchone()
    return (after, row[0] if row else None)


# (engine column, PostgreSQL type): what a row of retention_partner_state
# keeps. The figures that move with the calendar alone (engine.DAILY_COLUMNS)
# are not kept: they are derived on read.
STATE_COLUMNS = [
    ("first_order_date", "date"),
    ("last_order_date", "date"),
    ("visit_count", "int4"),
    ("lifetime_visits", "int4"),
    ("revenue", "float8"),
    ("avg_ticket", "float8"),
    ("cadence_days", "float8"),
    ("next_order_date", "date"),
    ("at_risk_threshold", "float8"),
    ("visits_365", "int4"),
    ("top_category_share", "float8"),
    ("status", "varchar"),
    ("trend_pct", "float8"),
    ("group_top_pct", "float8"),
    ("group_tier", "varchar"),
    ("profile", "varchar"),
    ("alert", "varchar"),
    ("action", "varchar"),
]


def _stage(cr, table, frame, types=None, unlogged=False):
    """COPY ``frame`` (partner_id and columns of STATE_COLUMNS, or of
    ``types``: column -> PostgreSQL type) into a new temporary table typed
    like retention_partner_state: no huge SQL literals to build, send and
    parse, whatever the row count. ``unlogged``: a real (unlogged) table
    instead, which outlives the transaction and is seen by other ones."""
    types = dict(types or STATE_COLUMNS, partner_id="int4")
    cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(table)))
    cr.execute(
        SQL(
            "CREATE %s TABLE %s (%s)",
            SQL("UNLOGGED") if unlogged else SQL("TEMP"),
            SQL.identifier(table),
            SQL(", ").join(
                SQL("%s %s", SQL.identifier(column), SQL(types[column]))
                for column in frame.columns
            ),
        )
    )
    frame = frame.copy()
    for column in frame.columns:
        # dates go as "YYYY-MM-DD 00:00:00", which PostgreSQL reads as dates
        if types[column] == "int4":
            frame[column] = frame[column].astype("Int64")
    _copy_in(cr, table, frame)
    # Statistics for the statements that join it: a temporary table is never
    # analyzed by autovacuum, and without them PostgreSQL probed the stage
    # row by row for each of the chunk's customers (40 s a chunk at M).
    cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))


def written_since(company, started):
    """How many of the company's customers a run begun at ``started`` wrote
    (their values or ranks changed)."""
    cr = company.env.cr
    cr.execute(
        "SELECT count(*) FROM retention_partner_state"
        " WHERE company_id = %s AND changed_at >= %s",
        [company.id, started],
    )
    return cr.fetchone()[0]


def write_metrics(company, metrics, now, rewrite=False, history_day=None):
    """Upsert one engine row per customer into the company's rows of
    ``retention_partner_state``, in one statement: new customers are
    inserted, the others updated only where a value changed (``rewrite``:
    all of them, to stamp ``changed_at`` after a recompute asked for by a
    user). With ``history_day``, the customers whose status changed get a
    row of ``retention_status_change`` dated that day, in the same
    transaction. Returns the number of rows written. Users never write these
    rows: a run holds no lock that an order or a contact edit waits for."""
    cr = company.env.cr
    _stage(
        cr,
        "retention_stage",
        metrics[["partner_id"] + [column for column, _t in STATE_COLUMNS]],
    )
    if history_day:
        record_status_changes(cr, company.id, history_day)
    names = [column for column, _t in STATE_COLUMNS]
    incoming = SQL(", ").join(SQL.identifier("v", name) for name in names)
    # Only the rows that are new or differ reach the upsert: ON CONFLICT DO
    # UPDATE locks every conflicting row even where its WHERE is false,
    # which wrote every page of the table on a night when nothing changed.
    changed = SQL(
        "o.partner_id IS NULL OR (%s) IS DISTINCT FROM (%s)",
        SQL(", ").join(SQL.identifier("o", name) for name in names),
        incoming,
    )
    cr.execute(
        SQL(
            """
            INSERT INTO retention_partner_state AS s
                   (company_id, partner_id, changed_at, %(columns)s)
            SELECT %(company_id)s, v.partner_id, %(now)s, %(values)s
              FROM retention_stage v
         LEFT JOIN retention_partner_state o
                ON o.company_id = %(company_id)s AND o.partner_id = v.partner_id
             WHERE %(changed)s
            ON CONFLICT (company_id, partner_id) DO UPDATE
               SET changed_at = excluded.changed_at, %(assignments)s
            """,
            columns=SQL(", ").join(SQL.identifier(name) for name in names),
            values=incoming,
            assignments=SQL(", ").join(
                SQL("%s = %s", SQL.identifier(name), SQL.identifier("excluded", name))
                for name in names
            ),
            company_id=company.id,
            now=now,
            changed=SQL("TRUE") if rewrite else changed,
        )
    )
    written = cr.rowcount
    cr.execute("DROP TABLE retention_stage")
    return written


def clear_stale(
    company, written_partner_ids, partner_ids=None, chunk=None, history_day=None
):
    """Rows of this company that the run did not write (all the customer's
    orders cancelled, say) are deleted, so nothing stale stays behind:
    among ``partner_ids`` for a partial recompute, in the ``chunk`` range
    for a chunk of a whole run. With ``history_day``, each deleted row is a
    status change to no status."""
    cr = company.env.cr
    scope = customers_scope(partner_ids, chunk)
    cr.execute(
        SQL(
            """
            DELETE FROM retention_partner_state
             WHERE company_id = %s AND %s AND NOT (partner_id = ANY(%s))
         RETURNING partner_id, status
            """,
            company.id,
            scope,
            [int(pid) for pid in written_partner_ids],
        )
    )
    gone = cr.fetchall()
    if history_day and gone:
        partners = [row[0] for row in gone]
        _record_changes(
            cr,
            company.id,
            history_day,
            SQL(
                """
                SELECT g.partner_id, g.status AS old_status,
                       NULL::varchar AS new_status, NULL::float8 AS revenue,
                       NULL::float8 AS cadence_days, NULL::int4 AS days_since_last
                  FROM unnest(%s::int[], %s::varchar[]) AS g(partner_id, status)
                """,
                partners,
                [row[1] for row in gone],
            ),
            SQL("SELECT unnest(%s::int[])", partners),
        )
    return len(gone)


def record_status_changes(cr, company_id, day):
    """A row of ``retention_status_change`` for each staged customer whose
    status differs from the stored one (a customer seen for the first time
    comes from no status). Read before the upsert overwrites the old status."""
    _record_changes(
        cr,
        company_id,
        day,
        SQL(
            """
            SELECT v.partner_id, s.status AS old_status, v.status AS new_status,
                   v.revenue, v.cadence_days,
                   %s AS days_since_last
              FROM retention_stage v
         LEFT JOIN retention_partner_state s
                ON s.company_id = %s AND s.partner_id = v.partner_id
             WHERE s.status IS DISTINCT FROM v.status
            """,
            retention_rules.days_since(SQL.identifier("v", "last_order_date"), day),
            company_id,
        ),
        SQL("SELECT partner_id FROM retention_stage"),
    )


def _record_changes(cr, company_id, day, changes, partners):
    """Upsert the day's ``changes`` (a query of partner_id, old_status,
    new_status, revenue, cadence_days, days_since_last) into
    ``retention_status_change``. A second change of the same day updates the
    day's row, which goes when the status is back to where the day began
    (among ``partners``, a query of partner ids): a change is recorded once,
    whatever the number of recomputes of the day."""
    cr.execute(
        SQL(
            """
            INSERT INTO retention_status_change AS c
                   (company_id, partner_id, date, old_status, new_status,
                    revenue, cadence_days, days_since_last)
            SELECT %(company_id)s, x.partner_id, %(day)s, x.old_status,
                   x.new_status, x.revenue, x.cadence_days, x.days_since_last
              FROM (%(changes)s) x
            ON CONFLICT (company_id, partner_id, date) DO UPDATE
               SET new_status = excluded.new_status, revenue = excluded.revenue,
                   cadence_days = excluded.cadence_days,
                   days_since_last = excluded.days_since_last
            """,
            company_id=company_id,
            day=day,
            changes=changes,
        )
    )
    cr.execute(
        SQL(
            """
            DELETE FROM retention_status_change
             WHERE company_id = %s AND date = %s AND partner_id IN (%s)
               AND old_status IS NOT DISTINCT FROM new_status
            """,
            company_id,
            day,
            partners,
        )
    )


# (column, PostgreSQL type) of the outlook a row of retention_partner_state
# keeps (engine/predict.py; its "model" column is kept as prediction_model).
PREDICTION_STATE_COLUMNS = [
    ("return_probability", "float8"),
    ("expected_visits", "float8"),
    ("predicted_revenue", "float8"),
    ("revenue_at_risk", "float8"),
    ("prediction_model", "varchar"),
    ("no_prediction", "varchar"),
]
# What the rhythm model reads of a stored row (engine.predict.rhythm_features
# after engine.daily_figures).
FEATURE_COLUMNS = (
    "first_order_date",
    "last_order_date",
    "next_order_date",
    "status",
    "visit_count",
    "avg_ticket",
    "cadence_days",
    "trend_pct",
)


def any_stored(company):
    """Whether the company has any customer's values stored."""
    cr = company.env.cr
    cr.execute(
        "SELECT EXISTS (SELECT FROM retention_partner_state WHERE company_id = %s)",
        [company.id],
    )
    return cr.fetchone()[0]


def sample_customers(company, size, seed, also=()):
    """Up to ``size`` of the company's customers (with a stored row, or in
    ``also``), the same ones for the same seed and customers: ordered by a
    hash of the id and the seed, in SQL, whatever the company's size."""
    cr = company.env.cr
    cr.execute(
        """
        SELECT partner_id FROM (
            SELECT partner_id FROM retention_partner_state WHERE company_id = %s
             UNION
            SELECT unnest(%s::int4[])
        ) candidates
      ORDER BY md5(partner_id::text || '-' || %s), partner_id
         LIMIT %s
        """,
        [company.id, list(also), str(seed), size],
    )
    return [row[0] for row in cr.fetchall()]


def stored_features(company, chunk=None, partner_ids=None):
    """The stored rows of the customers of ``chunk`` (or ``partner_ids``)
    with what the rhythm model reads, as a frame."""
    scope = (
        SQL("partner_id = ANY(%s)", list(partner_ids))
        if partner_ids is not None
        else _range(chunk)
    )
    query = SQL(
        "SELECT company_id, partner_id, %s FROM retention_partner_state"
        " WHERE company_id = %s AND %s",
        SQL(", ").join(SQL.identifier(name) for name in FEATURE_COLUMNS),
        company.id,
        scope,
    )
    frame = _copy_to_frame(
        company.env.cr,
        query.code,
        query.params,
        ["company_id", "partner_id", *FEATURE_COLUMNS],
    )
    for column in ("first_order_date", "last_order_date", "next_order_date"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("avg_ticket", "cadence_days", "trend_pct"):
        frame[column] = frame[column].astype("float64")
    return frame


def write_predictions(company, predictions):
    """Write the outlook of the engine's prediction rows into the
    customers' stored rows, only where it changed; returns the rows
    written. A customer without a stored row is not one of the company's."""
    if predictions.empty:
        return 0
    cr = company.env.cr
    names = [column for column, _type in PREDICTION_STATE_COLUMNS]
    frame = predictions.rename(columns={"model": "prediction_model"})[
        ["partner_id", *names]
    ]
    _stage(cr, "retention_prediction_stage", frame, types=PREDICTION_STATE_COLUMNS)
    cr.execute(
        SQL(
            """
            UPDATE retention_partner_state s
               SET %(assignments)s
              FROM retention_prediction_stage v
             WHERE s.company_id = %(company_id)s AND s.partner_id = v.partner_id
               AND (%(stored)s) IS DISTINCT FROM (%(incoming)s)
            """,
            assignments=SQL(", ").join(
                SQL("%s = %s", SQL.identifier(name), SQL.identifier("v", name))
                for name in names
            ),
            company_id=company.id,
            stored=SQL(", ").join(SQL.identifier("s", name) for name in names),
            incoming=SQL(", ").join(SQL.identifier("v", name) for name in names),
        )
    )
    written = cr.rowcount
    cr.execute("DROP TABLE retention_prediction_stage")
    return written
