# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Where visits come from: one definition per kind of document.

A company's purchases are the UNION ALL of its sources (setting "Purchases
come from", and the point-of-sale switch):

- ``sale``: confirmed sales orders, at their local time, ordered amounts;
- ``invoice``: posted customer invoices (visits) and credit notes (revenue
  only), on their invoice day (no time of day);
- ``pos``: point-of-sale orders paid, posted or invoiced, at their local
  time; refunds (a negative total) lower revenue and are no visits. Read
  only when ``point_of_sale`` is installed: this addon does not depend on
  it and never imports it; its tables are read when ``pos.order`` is in the
  registry, and a company whose switch is on reads nothing from them once
  it is uninstalled.

No document is counted twice when two sources see the same sale:

- *Orders first.* When sales orders are a source, a document line that
  comes from a line of a confirmed sales order (an invoice line of
  ``sale_order_line_invoice_rel``, a point-of-sale line settling an order
  through ``pos_sale``) belongs to that order, which already counts at its
  ordered amounts: the line counts for nothing, whatever its sign (the
  invoices, down payments and credit notes of an order, its cancelled and
  re-issued invoices). A document with at least one such line is the
  order's, not a visit of its own; its other lines (a fee added on the
  invoice, a goodwill credit note) add to or lower revenue on its day.
- *The till first.* When point-of-sale orders are a source, the invoice of
  a counted point-of-sale order (``pos_order.account_move``, its credit
  note for a refund) is that order's: it counts for nothing.

Each source is a :class:`Source` of SQL fragments; :func:`transactions_query`
and :func:`visits_query` give the same rows two shapes (one row per day, or
per document), :func:`customers_query` whose documents fall on some days,
and :func:`changed_query` says whose documents changed.
Every source groups by the customer's commercial partner, on the company's
local day, in the company currency, without the walk-in customer.
"""

import logging
from dataclasses import dataclass, replace

import psycopg2

from odoo.tools.sql import create_index, table_exists

_logger = logging.getLogger(__name__)

# The states of a point-of-sale order that are a sale.
POS_STATES = "('paid', 'done', 'invoiced')"


@dataclass(frozen=True)
class Source:
    """A kind of document as SQL fragments. The document's table is
    ``table`` aliased ``alias``, its product lines ``line_table`` aliased
    ``line`` (joined on ``line.<line_key> = <alias>.id``); the commercial
    partner is ``customer``, found through the indexed ``partner_column``."""

    table: str
    alias: str
    customer_join: str  # joins the customer's res_partner as "customer"
    customer: str
    partner_column: str
    joins: str  # further joins of the extracts, one row per document
    kind: str  # what makes a row of the table such a document (any state)
    counted: str  # ... and a purchase of the extract's company, days, customers
    line_table: str
    line_key: str
    line_condition: str
    at: str  # local timestamp of the document
    amount: str  # a line's untaxed amount in the company currency
    is_visit: str
    user: str
    team: str
    utm: str
    warehouse: str
    has_time: bool
    # SQL selecting the confirmed sales order lines a line ``{line}`` comes
    # from (the "orders first" rule), or "" when there is no link
    order_lines_of: str = ""
    # extra condition on the counted documents (the "till first" rule)
    exclude: str = ""
    # whether the "orders first" rule applies
    after_orders: bool = False


def _walk_in(customer):
    return f"{customer} <> %(walk_in)s"


def _utc_range(column):
    return f"{column} >= %(start_utc)s AND {column} < %(end_utc)s"


def _local(column):
    """A UTC timestamp column on the company's clock."""
    return f"({column} AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)"


def _has_column(env, model, field):
    return model in env and field in env[model]._fields


def _sale(env):
    warehouse = (
        "so.warehouse_id"  # sale_stock
        if _has_column(env, "sale.order", "warehouse_id")
        else "NULL"
    )
    return Source(
        table="sale_order",
        alias="so",
        joins="",
        customer_join="JOIN res_partner customer ON customer.id = so.partner_id",
        customer="customer.commercial_partner_id",
        partner_column="so.partner_id",
        kind="",
        counted=f"""so.state = 'sale'
                AND so.company_id = %(company_id)s
                AND {_utc_range("so.date_order")}
                AND {_walk_in("customer.commercial_partner_id")}""",
        line_table="sale_order_line",
        line_key="order_id",
        line_condition="line.display_type IS NULL",
        at=_local("so.date_order"),
        # sale.order.currency_rate is "order currency per company currency"
        # at the order date, as in Odoo's own sale.report.
        amount="line.price_subtotal / COALESCE(NULLIF(so.currency_rate, 0), 1.0)",
        is_visit="TRUE",
        user="so.user_id",
        team="so.team_id",
        utm="so.source_id",
        warehouse=warehouse,
        has_time=True,
    )


def _invoice(env):
    # Product lines carry the untaxed amount in company currency in
    # ``balance`` (negative for income), hence the sign.
    return Source(
        table="account_move",
        alias="move",
        joins="",
        customer_join="",
        customer="move.commercial_partner_id",
        partner_column="move.partner_id",
        kind="""move.move_type IN ('out_invoice', 'out_refund')
                AND move.commercial_partner_id IS NOT NULL""",
        counted=f"""move.state = 'posted'
                AND move.company_id = %(company_id)s
                AND move.invoice_date >= %(date_from)s
                AND move.invoice_date <= %(as_of)s
                AND {_walk_in("move.commercial_partner_id")}""",
        line_table="account_move_line",
        line_key="move_id",
        line_condition="line.display_type = 'product'",
        at="move.invoice_date::timestamp",
        amount="-line.balance",
        is_visit="move.move_type = 'out_invoice'",
        user="move.invoice_user_id",
        team="move.team_id",
        utm="move.source_id",
        warehouse="NULL",
        has_time=False,
        order_lines_of="""SELECT 1 FROM sale_order_line_invoice_rel rel
                  JOIN sale_order_line ordered_line
                    ON ordered_line.id = rel.order_line_id
                  JOIN sale_order ordered ON ordered.id = ordered_line.order_id
                 WHERE rel.invoice_line_id = {line}.id AND ordered.state = 'sale'""",
    )


def _pos(env):
    team = "po.crm_team_id" if _has_column(env, "pos.order", "crm_team_id") else "NULL"
    order_lines_of = ""
    if _has_column(env, "pos.order.line", "sale_order_line_id"):  # pos_sale
        order_lines_of = """SELECT 1 FROM sale_order_line ordered_line
                  JOIN sale_order ordered ON ordered.id = ordered_line.order_id
                 WHERE ordered_line.id = {line}.sale_order_line_id
                   AND ordered.state = 'sale'"""
    return Source(
        table="pos_order",
        alias="po",
        joins="LEFT JOIN pos_config config ON config.id = po.config_id",
        customer_join="JOIN res_partner customer ON customer.id = po.partner_id",
        customer="customer.commercial_partner_id",
        partner_column="po.partner_id",
        kind="",
        counted=f"""po.state IN {POS_STATES}
                AND po.company_id = %(company_id)s
                AND {_utc_range("po.date_order")}
                AND {_walk_in("customer.commercial_partner_id")}""",
        line_table="pos_order_line",
        line_key="order_id",
        line_condition="TRUE",
        at=_local("po.date_order"),
        # pos.order.currency_rate: order currency per company currency at
        # the order date, as on sales orders.
        amount="line.price_subtotal / COALESCE(NULLIF(po.currency_rate, 0), 1.0)",
        # a refund (or a return worth more than what is bought) is no visit
        is_visit="po.amount_total >= 0",
        user="po.user_id",
        team=team,
        utm="NULL",
        warehouse="config.warehouse_id",
        has_time=True,
        order_lines_of=order_lines_of,
    )


# Selection value of res.company.retention_source -> its sources.
SOURCES_OF_SETTING = {
    "sale": ("sale",),
    "invoice": ("invoice",),
    "sale_invoice": ("sale", "invoice"),
}


def pos_installed(env):
    """Whether point-of-sale orders exist in this database."""
    return "pos.order" in env


def company_sources(company):
    """The sources of ``company``'s purchases, with the rules that keep a
    sale from counting twice among them."""
    env = company.env
    names = set(SOURCES_OF_SETTING.get(company.retention_source, ("sale",)))
    if company.retention_include_pos and pos_installed(env):
        names.add("pos")
    sources = []
    if "sale" in names:
        sources.append(_sale(env))
    if "invoice" in names:
        invoice = replace(_invoice(env), after_orders="sale" in names)
        if "pos" in names:
            invoice = replace(
                invoice,
                exclude=f"""NOT EXISTS (
                    SELECT 1 FROM pos_order till
                     WHERE till.account_move = move.id
                       AND till.state IN {POS_STATES})""",
            )
        sources.append(invoice)
    if "pos" in names:
        sources.append(replace(_pos(env), after_orders="sale" in names))
    return sources


def _from_orders(source, line):
    return f"EXISTS ({source.order_lines_of.format(line=line)})"


def _body(source, partner_filter):
    """FROM and WHERE of a source's counted lines, one row per line (one
    row with NULL line for a document without lines)."""
    alias = source.alias
    lines = f"line.{source.line_key} = {alias}.id AND {source.line_condition}"
    conditions = [source.counted]
    if source.kind:
        conditions.append(source.kind)
    if source.exclude:
        conditions.append(source.exclude)
    linked = ""
    is_visit = source.is_visit
    if source.after_orders and source.order_lines_of:
        # Evaluated once per document: does any of its lines come from an order?
        linked = f"""
     LEFT JOIN LATERAL (
            SELECT TRUE AS from_order FROM {source.line_table} own
             WHERE own.{source.line_key} = {alias}.id
               AND {_from_orders(source, "own")}
             LIMIT 1) linked ON TRUE"""
        lines += (
            f" AND (linked.from_order IS NULL OR NOT {_from_orders(source, 'line')})"
        )
        is_visit = f"({is_visit}) AND linked.from_order IS NULL"
        # an order's document with no line of its own adds no row at all
        conditions.append("(linked.from_order IS NULL OR line.id IS NOT NULL)")
    body = f"""
      FROM {source.table} {alias}
      {source.customer_join}
      {source.joins}{linked}
 LEFT JOIN {source.line_table} line ON {lines}
 LEFT JOIN product_product product ON product.id = line.product_id
 LEFT JOIN product_template tmpl ON tmpl.id = product.product_tmpl_id
     WHERE {" AND ".join(conditions)}
       {partner_filter(source)}"""
    return body, is_visit


def transactions_query(sources, partner_filter):
    """One row per (customer, local day, product category, visit-or-refund):
    the engine merges the rest (TRANSACTION_COLUMNS)."""
    parts = []
    for source in sources:
        body, is_visit = _body(source, partner_filter)
        parts.append(
            f"""
    SELECT {source.alias}.company_id AS company_id,
           {source.customer} AS partner_id,
           ({source.at})::date AS date,
           COALESCE(SUM({source.amount}), 0) AS amount,
           {is_visit} AS is_visit,
           COALESCE(tmpl.categ_id, 0) AS category_id
      {body}
  GROUP BY 1, 2, 3, 5, 6"""
        )
    return _union(parts, "company_id, partner_id, date, amount, is_visit, category_id")


def visits_query(sources, partner_filter):
    """One row per document and product category (VISIT_COLUMNS of the
    engine's history): its local time, salesperson, team, UTM source and
    warehouse, untaxed amount in the company currency."""
    parts = []
    for source in sources:
        body, is_visit = _body(source, partner_filter)
        parts.append(
            f"""
    SELECT {source.customer} AS partner_id,
           {source.at} AS at,
           COALESCE({source.user}, 0) AS user_id,
           COALESCE({source.team}, 0) AS team_id,
           COALESCE(tmpl.categ_id, 0) AS categ_id,
           COALESCE(SUM({source.amount}), 0) AS revenue,
           {is_visit} AS is_visit,
           COALESCE({source.utm}, 0) AS source_id,
           COALESCE({source.warehouse}, 0) AS warehouse_id,
           {source.has_time} AS has_time
      {body}
  GROUP BY {source.alias}.id, 1, 2, 3, 4, 5, 7, 8, 9, 10"""
        )
    return _union(
        parts,
        "partner_id, at, user_id, team_id, categ_id, revenue, is_visit,"
        " source_id, warehouse_id, has_time",
    )


def customers_query(sources, partner_filter):
    """The customers with a counted document in the extract's days: those
    whose documents came into view on those days (a document dated ahead
    counts from its day on, without being written again)."""
    parts = []
    for source in sources:
        body, _is_visit = _body(source, partner_filter)
        parts.append(f"\n    SELECT DISTINCT {source.customer} AS partner_id {body}")
    return _union(parts, "partner_id")


def changed_query(sources):
    """Commercial partners with a document of any state of the sources
    written since %(since)s in %(company_id)s (cancelled ones too)."""
    parts = []
    for source in sources:
        conditions = [
            f"{source.alias}.company_id = %(company_id)s",
            f"{source.alias}.write_date >= %(since)s",
        ]
        if source.kind:
            conditions.append(source.kind)
        parts.append(
            f"""
    SELECT {source.customer} AS partner_id
      FROM {source.table} {source.alias} {source.customer_join}
     WHERE {" AND ".join(conditions)}"""
        )
    return _union(parts, "partner_id")


def _union(parts, columns):
    if parts:
        return "\n UNION ALL\n".join(parts)
    # no source (never with the selection's values): an empty extract
    empty = ", ".join(f"NULL AS {name.strip()}" for name in columns.split(","))
    return f"SELECT {empty} WHERE FALSE"


def create_change_index(cr, table):
    """The index on (company_id, write_date) of a source's table: the hourly
    update looks for the documents of a company written since its last run,
    without it a scan of the table. A look-up in pg_indexes once it exists."""
    create_index(
        cr,
        f"{table}_retention_company_write_date_idx",
        table,
        ["company_id", "write_date"],
    )


def create_pos_change_index(env):
    """The change index of ``pos_order``, created whenever the registry
    loads with ``point_of_sale`` installed, whichever of the two addons came
    first: this addon declares nothing on a model it does not depend on."""
    if not pos_installed(env) or not table_exists(env.cr, "pos_order"):
        return
    try:
        with env.cr.savepoint():
            create_change_index(env.cr, "pos_order")
    except psycopg2.Error as error:
        # another worker loading the registry at the same moment created it
        # first, or the table is locked: the hourly update works without it
        _logger.info("The change index of pos_order is not created now: %s", error)
