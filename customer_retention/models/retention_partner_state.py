# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Where the retention values live: one narrow row per (company, customer).

The res.partner fields (``retention_*``) read and search these rows through
a join (see res_partner.py), so lists, kanban and pivots on partners filter,
sort and group on them as on stored fields, while the nightly run writes
only the rows whose values changed into a table of a few dozen bytes per
customer, instead of rewriting every row of ``res_partner`` (27 indexes,
the hottest table of the ERP) in company-dependent jsonb.

Nothing here moves with the calendar alone: days since the last order and
overdue are derived from the stored dates on the day they are read, so a
customer whose values did not change is not written.
"""

from odoo import api, fields, models
from odoo.tools import SQL

from ..engine import ACTIONS, ALERTS, OVERDUE_STATUSES, PROFILES, STATUSES, TIERS


class RetentionPartnerState(models.Model):
    _name = "retention.partner.state"
    _description = "Customer Retention Values"
    _rec_name = "partner_id"
    _order = "company_id, partner_id"
    # Written in bulk by SQL only: no create/write stamps to maintain.
    _log_access = False

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        "res.partner", required=True, readonly=True, index=True, ondelete="cascade"
    )
    first_order_date = fields.Date(readonly=True)
    last_order_date = fields.Date(readonly=True)
    visit_count = fields.Integer(readonly=True)
    lifetime_visits = fields.Integer(readonly=True)
    revenue = fields.Float(readonly=True)
    avg_ticket = fields.Float(readonly=True)
    cadence_days = fields.Float(readonly=True)
    next_order_date = fields.Date(readonly=True)
    at_risk_threshold = fields.Float(readonly=True)
    visits_365 = fields.Integer(readonly=True)
    top_category_share = fields.Float(readonly=True)
    status = fields.Selection(STATUSES, readonly=True)
    trend_pct = fields.Float(readonly=True)
    group_top_pct = fields.Float(readonly=True)
    group_tier = fields.Selection(TIERS, readonly=True)
    profile = fields.Selection(PROFILES, readonly=True)
    alert = fields.Selection(ALERTS, readonly=True)
    action = fields.Selection(ACTIONS, readonly=True)
    changed_at = fields.Datetime(
        readonly=True, help="When the values of this row last changed."
    )
    # Derived on read from the dates above and the company's today.
    days_since_last = fields.Integer(compute="_compute_daily", readonly=True)
    overdue = fields.Boolean(compute="_compute_daily", readonly=True)

    _sql_constraints = [
        (
            "company_partner_uniq",
            "unique(company_id, partner_id)",
            "A customer has one row of retention values per company.",
        )
    ]

    def init(self):
        cr = self.env.cr
        # The partner list filtered by status and sorted by days since the
        # last order (last order first: NULLS FIRST like a descending sort
        # of the days) is read from this index and stops after one page.
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_partner_state_status_last_idx
                ON retention_partner_state
                   (company_id, status, last_order_date NULLS FIRST)
            """
        )
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_partner_state_alert_idx
                ON retention_partner_state (company_id, alert)
            """
        )
        # Room in each page for the new version of a changed row: updates that
        # touch no indexed column stay on the page (HOT), without index writes.
        cr.execute("ALTER TABLE retention_partner_state SET (fillfactor = 90)")

    @api.depends_context("company")
    def _compute_daily(self):
        today = self.env.company._retention_today()
        for row in self:
            last = row.last_order_date
            row.days_since_last = (today - last).days if last else 0
            row.overdue = bool(
                row.status in OVERDUE_STATUSES
                and row.next_order_date
                and row.next_order_date < today
            )

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        # Searchable, sortable and groupable, computed from the stored dates
        # on the current company's today (engine.daily_figures, in SQL).
        if fname == "days_since_last":
            today = self.env.company._retention_today()
            return SQL(
                "(%s::date - %s)", today, SQL.identifier(alias, "last_order_date")
            )
        if fname == "overdue":
            today = self.env.company._retention_today()
            return SQL(
                "(%s IN %s AND %s < %s::date)",
                SQL.identifier(alias, "status"),
                OVERDUE_STATUSES,
                SQL.identifier(alias, "next_order_date"),
                today,
            )
        return super()._field_to_sql(alias, fname, query, flush)
