# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Retention by source: which channel brings customers who stay. One row
per customer of a company, read from its retention row: the UTM source of
the first order, when the first order was, whether the customer came back
after it and whether they still buy. The rates are computed per cell of the
pivot from the counts (see ``_read_group_select``), never averaged."""

from odoo import fields, models
from odoo.tools import SQL

from ..engine import STATUSES
from ..models import retention_rules


class RetentionSourceReport(models.Model):
    _name = "retention.source.report"
    _description = "Retention by Source"
    _auto = False
    _rec_name = "partner_id"
    _order = "first_order_date desc, id"

    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    source_id = fields.Many2one(
        "utm.source",
        string="Source of First Order",
        readonly=True,
        help="The UTM source of the customer's first order: where they heard "
        "about you.",
    )
    first_order_date = fields.Date(string="First Order", readonly=True)
    status = fields.Selection(list(STATUSES), readonly=True)
    customer_count = fields.Integer(string="Customers", readonly=True, aggregator="sum")
    returned_count = fields.Integer(
        string="Came Back",
        readonly=True,
        aggregator="sum",
        help="Customers with more than one visit.",
    )
    active_count = fields.Integer(
        string="Still Buying",
        readonly=True,
        aggregator="sum",
        help="Customers whose status is New or Active.",
    )
    return_rate = fields.Float(
        string="Came Back (%)", readonly=True, aggregator="avg", digits=(16, 1)
    )
    active_rate = fields.Float(
        string="Still Buying (%)", readonly=True, aggregator="avg", digits=(16, 1)
    )
    total_spent = fields.Float(readonly=True, aggregator="sum", digits="Product Price")
    avg_spent = fields.Float(
        string="Average Spent per Customer",
        readonly=True,
        aggregator="avg",
        digits="Product Price",
    )

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT s.id, s.company_id, s.partner_id, s.first_source_id AS source_id,
                   s.first_order_date, s.status, 1 AS customer_count,
                   (s.lifetime_visits > 1)::int AS returned_count,
                   %(still_buying)s::int AS active_count,
                   100.0 * (s.lifetime_visits > 1)::int AS return_rate,
                   100.0 * %(still_buying)s::int AS active_rate,
                   s.total_spent, s.total_spent AS avg_spent
              FROM retention_partner_state s
            """,
            still_buying=retention_rules.still_buying(SQL.identifier("s", "status")),
        )

    def _read_group_select(self, aggregate_spec, query):
        # Rates of the cell from its counts: an average of 0/100 per row is
        # the same share, rounded like the other retention rates.
        rates = {"return_rate:avg": "returned_count", "active_rate:avg": "active_count"}
        if aggregate_spec in rates:
            flag = self._field_to_sql(self._table, rates[aggregate_spec], query)
            return SQL("ROUND(100.0 * SUM(%s) / NULLIF(COUNT(*), 0), 1)", flag)
        return super()._read_group_select(aggregate_spec, query)
