# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Set-based writes of the customer summary (engine/summary.py).

The nightly Retention Analysis phase hands each chunk's visits here, and a
recompute of some customers theirs: the summary columns of
``retention_partner_state`` and the customer's rows of
``retention_partner_category`` are written where they differ, so a night
without orders writes nothing. The category gap table is rebuilt at the end
of the run, from those rows, in one statement.
"""

from odoo.tools import SQL

from ..engine.summary import CATEGORY_COLUMNS, SUMMARY_COLUMNS, customer_summary
from ..engine.summary import category_totals as engine_category_totals
from ..report.retention_category_gap import MAIN_CATEGORY_SHARE
from . import retention_rules, retention_store

_SUMMARY_TYPES = {
    "total_spent": "float8",
    "main_categ_id": "int4",
    "preferred_user_id": "int4",
    "preferred_weekday": "varchar",
    "preferred_daypart": "varchar",
    "last_team_id": "int4",
    "last_warehouse_id": "int4",
    "first_source_id": "int4",
}
_CATEGORY_TYPES = {
    "categ_id": "int4",
    "revenue": "float8",
    "visits": "int4",
    "last_date": "date",
}


def write(company, visits, partner_ids=None, chunk=None):
    """Write the summary and the categories bought of the customers of
    ``visits`` (those of ``partner_ids`` or of the ``chunk`` range): only
    the rows that differ. Returns the number of rows written."""
    decimals = company.currency_id.decimal_places
    summary = customer_summary(visits, decimals)
    categories = engine_category_totals(visits, decimals)
    return _write_summary(company, summary, partner_ids, chunk) + _write_categories(
        company, categories, partner_ids, chunk
    )


def _write_summary(company, summary, partner_ids, chunk):
    cr = company.env.cr
    retention_store._stage(cr, "retention_summary_stage", summary, types=_SUMMARY_TYPES)
    # The clean-up below probes it per stored customer whatever the plan
    # (the first night, the stored rows have no statistics yet: 40 s a chunk
    # at M without this index).
    cr.execute("CREATE INDEX ON retention_summary_stage (partner_id)")
    names = SQL(", ").join(SQL.identifier(name) for name in SUMMARY_COLUMNS)
    stored = SQL(", ").join(SQL.identifier("s", name) for name in SUMMARY_COLUMNS)
    incoming = SQL(", ").join(SQL.identifier("v", name) for name in SUMMARY_COLUMNS)
    # The customer's retention row exists: the values phase wrote it first.
    cr.execute(
        SQL(
            """
            UPDATE retention_partner_state s
               SET (%(names)s) = (%(incoming)s)
              FROM retention_summary_stage v
             WHERE s.company_id = %(company_id)s AND s.partner_id = v.partner_id
               AND (%(stored)s) IS DISTINCT FROM (%(incoming)s)
            """,
            names=names,
            incoming=incoming,
            stored=stored,
            company_id=company.id,
        )
    )
    written = cr.rowcount
    # A customer of the scope without visits any more keeps no summary.
    cr.execute(
        SQL(
            """
            UPDATE retention_partner_state s SET (%(names)s) = (%(empty)s)
             WHERE s.company_id = %(company_id)s AND %(scope)s
               AND s.total_spent IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM retention_summary_stage v
                                WHERE v.partner_id = s.partner_id)
            """,
            names=names,
            empty=SQL(", ").join(SQL("NULL") for _name in SUMMARY_COLUMNS),
            company_id=company.id,
            scope=retention_store.customers_scope(partner_ids, chunk),
        )
    )
    written += cr.rowcount
    cr.execute("DROP TABLE retention_summary_stage")
    return written


def _write_categories(company, categories, partner_ids, chunk):
    cr = company.env.cr
    retention_store._stage(
        cr, "retention_category_stage", categories, types=_CATEGORY_TYPES
    )
    cr.execute("CREATE INDEX ON retention_category_stage (partner_id, categ_id)")
    values = [
        name for name in CATEGORY_COLUMNS if name not in ("partner_id", "categ_id")
    ]
    cr.execute(
        SQL(
            """
            DELETE FROM retention_partner_category c
             WHERE c.company_id = %(company_id)s AND %(scope)s
               AND NOT EXISTS (SELECT 1 FROM retention_category_stage v
                                WHERE v.partner_id = c.partner_id
                                  AND v.categ_id = c.categ_id)
            """,
            company_id=company.id,
            scope=retention_store.customers_scope(partner_ids, chunk),
        )
    )
    written = cr.rowcount
    cr.execute(
        SQL(
            """
            INSERT INTO retention_partner_category AS c
                   (company_id, partner_id, categ_id, %(names)s)
            SELECT %(company_id)s, v.partner_id, v.categ_id, %(incoming)s
              FROM retention_category_stage v
         LEFT JOIN retention_partner_category o
                ON o.company_id = %(company_id)s AND o.partner_id = v.partner_id
               AND o.categ_id = v.categ_id
             WHERE o.partner_id IS NULL
                OR (%(stored)s) IS DISTINCT FROM (%(incoming)s)
            ON CONFLICT (company_id, partner_id, categ_id) DO UPDATE
               SET (%(names)s) = (%(excluded)s)
            """,
            names=SQL(", ").join(SQL.identifier(name) for name in values),
            incoming=SQL(", ").join(SQL.identifier("v", name) for name in values),
            excluded=SQL(", ").join(
                SQL.identifier("excluded", name) for name in values
            ),
            # only the new rows and those that differ: see write_metrics
            stored=SQL(", ").join(SQL.identifier("o", name) for name in values),
            company_id=company.id,
        )
    )
    written += cr.rowcount
    cr.execute("DROP TABLE retention_category_stage")
    return written


def rebuild_category_gap(company):
    """The company's category gap table from its customers' categories and
    statuses: one aggregate over a few rows per customer."""
    cr = company.env.cr
    cr.execute("DELETE FROM retention_category_gap WHERE company_id = %s", [company.id])
    cr.execute(
        SQL(
            """
            WITH active AS (
                SELECT partner_id FROM retention_partner_state
                 WHERE company_id = %(company_id)s AND %(still_buying)s
            ), total AS (SELECT count(*) AS customers FROM active),
            bought AS (
                SELECT c.categ_id,
                       count(a.partner_id) AS buyers,
                       sum(c.revenue) AS revenue
                  FROM retention_partner_category c
             LEFT JOIN active a ON a.partner_id = c.partner_id
                 WHERE c.company_id = %(company_id)s
              GROUP BY c.categ_id
            )
            INSERT INTO retention_category_gap
                   (company_id, categ_id, customers, buyers, non_buyers,
                    buyer_share, is_main, revenue)
            SELECT %(company_id)s, b.categ_id, t.customers, b.buyers,
                   t.customers - b.buyers,
                   ROUND(100.0 * b.buyers / NULLIF(t.customers, 0), 1),
                   b.buyers >= %(main_share)s * t.customers AND b.buyers > 0,
                   b.revenue
              FROM bought b, total t
            """,
            company_id=company.id,
            still_buying=retention_rules.still_buying(SQL.identifier("status")),
            main_share=MAIN_CATEGORY_SHARE,
        )
    )
