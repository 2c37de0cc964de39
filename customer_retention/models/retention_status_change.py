# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The history of the customers' statuses: one row each time a customer's
status changed in a company (New -> Active, Active -> At risk, ...).

Written by the recompute itself, in the statement batch that writes the new
status (retention_store.write_metrics): a row only for the customers whose
status changed, so the cost is the changes, never the customers, and a
chunk that is rolled back takes its changes with it. At most one row per
customer and company and day: a second recompute of the same day that moves
the status again updates that row (and deletes it when the status is back
where the day began).
"""

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL

from ..engine import STATUSES, rules
from . import retention_domain


class RetentionStatusChange(models.Model):
    _name = "retention.status.change"
    _description = "Customer Status Change"
    _order = "date desc, id desc"
    _rec_name = "partner_id"
    # Written in bulk by SQL only.
    _log_access = False

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    date = fields.Date(required=True, readonly=True, help="Day of the recompute.")
    old_status = fields.Selection(
        list(STATUSES),
        string="From",
        readonly=True,
        help="Empty: the customer's first order (the customer became known).",
    )
    new_status = fields.Selection(list(STATUSES), string="To", readonly=True)
    revenue = fields.Float(
        readonly=True,
        aggregator="sum",
        help="The customer's revenue in the look-back window at that moment.",
    )
    cadence_days = fields.Float(
        string="Usual Interval (days)", readonly=True, aggregator="avg"
    )
    days_since_last = fields.Integer(
        string="Days Since Last Order",
        readonly=True,
        aggregator="avg",
        help="Days between the customer's last order and the change.",
    )
    came_back = fields.Boolean(
        compute="_compute_came_back",
        search="_search_came_back",
        help="At risk or lost, then active again.",
    )

    _sql_constraints = [
        (
            "company_partner_date_uniq",
            "unique(company_id, partner_id, date)",
            "A customer's status changes at most once a day in a company.",
        )
    ]

    def init(self):
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_status_change_company_date_idx
                ON retention_status_change (company_id, date, new_status)
            """
        )

    @api.depends("old_status", "new_status")
    def _compute_came_back(self):
        back = rules.came_back(self.mapped("old_status"), self.mapped("new_status"))
        for change, value in zip(self, back, strict=True):
            change.came_back = bool(value)

    def _search_came_back(self, operator, value):
        # Every operator Odoo accepts on a boolean, on the two values it takes.
        found, negate = retention_domain.matching(
            self.env, self._fields["came_back"], operator, value, [True, False]
        )
        came_back = [
            "&",
            ("old_status", "in", rules.FLAGGED),
            ("new_status", "=", rules.CAME_BACK_TO),
        ]
        if len(found) == 2:
            domain = expression.TRUE_DOMAIN
        elif found == [True]:
            domain = came_back
        elif found == [False]:
            domain = ["!", *came_back]
        else:
            domain = expression.FALSE_DOMAIN
        return ["!", *domain] if negate else domain

    @api.model
    def _purge(self, company, keep_years, today):
        """Delete the company's changes older than ``keep_years`` years; one
        statement on the (company, date) index."""
        if keep_years <= 0:
            return 0
        limit = today - relativedelta(years=keep_years)
        self.env.cr.execute(
            SQL(
                "DELETE FROM retention_status_change"
                " WHERE company_id = %s AND date < %s",
                company.id,
                limit,
            )
        )
        return self.env.cr.rowcount
