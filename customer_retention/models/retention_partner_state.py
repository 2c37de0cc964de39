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

import math

from odoo import api, fields, models
from odoo.tools import SQL

from ..engine import (
    ACTIONS,
    ALERTS,
    MODELS,
    NO_PREDICTION,
    PROFILES,
    STATUSES,
    TIERS,
    rules,
)
from ..engine.history import WEEKDAYS
from ..engine.summary import DAYPARTS
from . import retention_rules

# Whether the last order came before the cut-off day of Settings.
LAST_ORDER_SIDES = [
    ("before", "Before the cut-off date"),
    ("after", "On or after the cut-off date"),
]


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
    # Lists: Odoo reflects (and translates) list selections only.
    status = fields.Selection(list(STATUSES), readonly=True)
    trend_pct = fields.Float(readonly=True)
    group_top_pct = fields.Float(readonly=True)
    group_tier = fields.Selection(list(TIERS), readonly=True)
    profile = fields.Selection(list(PROFILES), readonly=True)
    alert = fields.Selection(list(ALERTS), readonly=True)
    action = fields.Selection(list(ACTIONS), readonly=True)
    changed_at = fields.Datetime(
        readonly=True, help="When the values of this row last changed."
    )
    # The customer summary, written by the nightly Retention Analysis phase
    # (engine/summary.py) and by a recompute of the customer.
    total_spent = fields.Float(readonly=True)
    main_categ_id = fields.Many2one(
        "product.category", readonly=True, ondelete="set null"
    )
    preferred_user_id = fields.Many2one("res.users", readonly=True, ondelete="set null")
    preferred_weekday = fields.Selection(list(WEEKDAYS), readonly=True)
    preferred_daypart = fields.Selection(
        [(key, label) for key, label, _start in DAYPARTS], readonly=True
    )
    last_team_id = fields.Many2one("crm.team", readonly=True, ondelete="set null")
    # stock.warehouse when stock is installed: not a dependency of the addon.
    last_warehouse_id = fields.Integer(readonly=True)
    first_source_id = fields.Many2one("utm.source", readonly=True, ondelete="set null")
    # The outlook, written by the nightly prediction phase (engine/predict.py)
    # and by a recompute of the customer with the company's stored models.
    return_probability = fields.Float(readonly=True)
    expected_visits = fields.Float(readonly=True)
    predicted_revenue = fields.Float(readonly=True)
    revenue_at_risk = fields.Float(readonly=True)
    prediction_model = fields.Selection(list(MODELS), readonly=True)
    no_prediction = fields.Selection(list(NO_PREDICTION), readonly=True)
    # Derived on read from the dates above and the company's today.
    days_since_last = fields.Integer(compute="_compute_daily", readonly=True)
    overdue = fields.Boolean(compute="_compute_daily", readonly=True)
    # Derived on read from the company's settings.
    ticket_band = fields.Integer(compute="_compute_bands", readonly=True)
    last_order_side = fields.Selection(
        LAST_ORDER_SIDES, compute="_compute_bands", readonly=True
    )

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
        # Top Spenders: the first page of the list from the index.
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_partner_state_spent_idx
                ON retention_partner_state (company_id, total_spent DESC NULLS LAST)
            """
        )
        # The partner list sorted by revenue at risk: its first page from here.
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_partner_state_at_risk_value_idx
                ON retention_partner_state
                   (company_id, revenue_at_risk DESC NULLS LAST)
            """
        )
        # Room in each page for the new version of a changed row: updates that
        # touch no indexed column stay on the page (HOT), without index writes.
        cr.execute("ALTER TABLE retention_partner_state SET (fillfactor = 90)")

    @api.depends_context("company")
    def _compute_daily(self):
        # The engine's rules (engine/rules.py) on the rows read; no last
        # order gives no days, which an Integer field holds as 0, as it reads
        # a NULL column.
        today = self.env.company._retention_today()
        days = rules.days_since(self.mapped("last_order_date"), today)
        overdue = rules.overdue(
            self.mapped("status"), self.mapped("next_order_date"), today
        )
        for row, since, late in zip(self, days, overdue, strict=True):
            row.days_since_last = False if math.isnan(since) else int(since)
            row.overdue = bool(late)

    @api.depends_context("company")
    def _compute_bands(self):
        company = self.env.company
        for row in self:
            row.ticket_band = ticket_band(row.avg_ticket, company)
            row.last_order_side = last_order_side(row.last_order_date, company)

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        # Searchable, sortable and groupable, computed from the stored dates
        # on the current company's today (engine.daily_figures, in SQL).
        if fname == "days_since_last":
            return retention_rules.days_since(
                SQL.identifier(alias, "last_order_date"),
                self.env.company._retention_today(),
            )
        if fname == "overdue":
            return retention_rules.overdue(
                SQL.identifier(alias, "status"),
                SQL.identifier(alias, "next_order_date"),
                self.env.company._retention_today(),
            )
        if fname == "ticket_band":
            width = self.env.company.retention_ticket_band_width or 1.0
            return SQL(
                "(floor(%s / %s) * %s)::int4",
                SQL.identifier(alias, "avg_ticket"),
                width,
                width,
            )
        if fname == "last_order_side":
            cutoff = self.env.company.retention_cutoff_date
            if not cutoff:
                return SQL("NULL::varchar")
            last = SQL.identifier(alias, "last_order_date")
            return SQL(
                "(CASE WHEN %s < %s THEN 'before' WHEN %s >= %s THEN 'after' END)",
                last,
                cutoff,
                last,
                cutoff,
            )
        return super()._field_to_sql(alias, fname, query, flush)


def ticket_band(avg_ticket, company):
    """The lower bound of the company's average-ticket band that holds
    ``avg_ticket`` (band width 500: 0, 500, 1000...); None without a ticket."""
    if avg_ticket is None or avg_ticket is False:
        return None
    width = company.retention_ticket_band_width or 1.0
    return int(math.floor(avg_ticket / width) * width)


def last_order_side(last_order_date, company):
    """Whether ``last_order_date`` is before the company's cut-off day."""
    cutoff = company.retention_cutoff_date
    if not cutoff or not last_order_date:
        return False
    return "before" if last_order_date < cutoff else "after"
