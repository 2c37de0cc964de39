# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The pulse of the business: small tables written whole by the nightly run
(retention_history), read by the graphs and pivots of Retention Analysis.

Each has a few hundred or thousand rows per company whatever the number of
orders: opening them costs nothing. Rows the run is still building carry
``building`` and are hidden until the run swaps them in.
"""

from odoo import fields, models
from odoo.tools import SQL

from ..engine import STATUSES
from ..engine.history import WEEKDAYS


class RetentionPulseMixin(models.AbstractModel):
    _name = "retention.pulse.mixin"
    _description = "Retention Pulse Table"
    _log_access = False

    company_id = fields.Many2one("res.company", required=True, readonly=True)
    building = fields.Boolean(
        readonly=True, help="Written by the run in progress, not shown yet."
    )

    def _search(self, domain, offset=0, limit=None, order=None):
        # The rows of a run in progress are hidden until it swaps them in.
        return super()._search(
            [("building", "=", False), *domain], offset, limit, order
        )


class RetentionPulseWeek(models.Model):
    _name = "retention.pulse.week"
    _inherit = "retention.pulse.mixin"
    _description = "Visits per Week"
    _order = "week desc, series"

    week = fields.Date(required=True, readonly=True, help="Monday of the week.")
    series = fields.Selection(
        [("this", "This week"), ("year_before", "Same week a year earlier")],
        required=True,
        readonly=True,
    )
    visits = fields.Integer(
        readonly=True,
        aggregator="sum",
        help="Customer visits: a customer's orders of one day are one visit.",
    )
    customers = fields.Integer(
        string="Active Customers",
        readonly=True,
        aggregator="sum",
        help="Distinct customers with a visit in the week.",
    )


class RetentionVisitHour(models.Model):
    _name = "retention.visit.hour"
    _inherit = "retention.pulse.mixin"
    _description = "Visits by Weekday and Hour"
    _order = "month desc, weekday, hour"

    month = fields.Date(required=True, readonly=True)
    weekday = fields.Selection(list(WEEKDAYS), required=True, readonly=True)
    hour = fields.Integer(
        string="Hour of the Day",
        readonly=True,
        aggregator=None,
        help="Local hour of the order, in the company's time zone.",
    )
    visits = fields.Integer(readonly=True, aggregator="sum")


class RetentionCohort(models.Model):
    _name = "retention.cohort"
    _inherit = "retention.pulse.mixin"
    _description = "First-Order Cohorts"
    _order = "cohort_month desc, months_after"

    cohort_month = fields.Date(string="First Order Month", required=True, readonly=True)
    months_after = fields.Integer(
        string="Months Later", required=True, readonly=True, aggregator=None
    )
    customers = fields.Integer(
        string="Customers Still Buying", readonly=True, aggregator="sum"
    )
    cohort_size = fields.Integer(
        string="New Customers", readonly=True, aggregator="max"
    )
    share = fields.Float(
        string="Still Buying (%)",
        readonly=True,
        aggregator="avg",
        help="Customers of the cohort with an order in that month, out of the "
        "cohort's new customers.",
    )

    def _read_group_select(self, aggregate_spec, query):
        # A share of the summed cohorts, not an average of shares: exact in
        # any cell, for one company or several.
        if aggregate_spec == "share:avg":
            return SQL(
                "ROUND(100.0 * SUM(%s) / NULLIF(SUM(%s), 0), 1)",
                self._field_to_sql(self._table, "customers", query),
                self._field_to_sql(self._table, "cohort_size", query),
            )
        if aggregate_spec == "cohort_size:max":
            return SQL(
                "SUM(%s) FILTER (WHERE %s = 0)",
                self._field_to_sql(self._table, "cohort_size", query),
                self._field_to_sql(self._table, "months_after", query),
            )
        return super()._read_group_select(aggregate_spec, query)


class RetentionStatusMonth(models.Model):
    _name = "retention.status.month"
    _inherit = "retention.pulse.mixin"
    _description = "Customers by Status at Month End"
    _order = "month_end desc, status"

    month_end = fields.Date(
        string="Month",
        required=True,
        readonly=True,
        help="Last day of the month; for the month in progress, the day of the last "
        "run.",
    )
    status = fields.Selection(list(STATUSES), required=True, readonly=True)
    customers = fields.Integer(readonly=True, aggregator="sum")
    reconstructed = fields.Boolean(
        readonly=True,
        help="Computed from the order history as if the retention rule had run on "
        "that day (the months before the first run of the addon).",
    )


class RetentionStatusFlow(models.Model):
    _name = "retention.status.flow"
    _description = "Status Flows per Month"
    _order = "month desc, old_status, new_status"
    _log_access = False

    company_id = fields.Many2one("res.company", required=True, readonly=True)
    month = fields.Date(required=True, readonly=True, help="First day of the month.")
    old_status = fields.Selection(
        list(STATUSES),
        string="From",
        readonly=True,
        help="Empty: customers seen for the first time.",
    )
    new_status = fields.Selection(
        list(STATUSES),
        string="To",
        readonly=True,
        help="Empty: no order counted any more.",
    )
    customers = fields.Integer(readonly=True, aggregator="sum")
