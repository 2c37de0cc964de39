# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine import RetentionSettings

# res.partner many2one fields that may define a customer's peer group.
GROUP_FIELDS = [
    ("none", "No grouping (whole company)"),
    ("industry_id", "Industry"),
    ("country_id", "Country"),
    ("state_id", "State"),
    ("user_id", "Salesperson"),
    ("team_id", "Sales Team"),
]

# company field -> RetentionSettings attribute
SETTING_FIELDS = {
    "retention_lookback_days": "lookback_days",
    "retention_new_days": "new_days",
    "retention_at_risk_factor": "at_risk_factor",
    "retention_min_at_risk_days": "min_at_risk_days",
    "retention_dormant_days": "dormant_days",
    "retention_lost_days": "lost_days",
    "retention_trend_period": "trend_period",
    "retention_frequent_visits": "frequent_visits",
}


class ResCompany(models.Model):
    _inherit = "res.company"

    # Thresholds live on the company, not in ir.config_parameter: several may
    # legitimately be 0 (lookback 0 = all history), which config parameters
    # would store as "unset".
    retention_lookback_days = fields.Integer(
        string="Look-back Window (days)",
        default=730,
        help="Only orders of the last N days count for visits, revenue, average "
        "ticket and cadence. 0 uses the whole history.",
    )
    retention_new_days = fields.Integer(
        string="New Customer Period (days)",
        default=90,
        help="A customer whose first order is at most this many days old is New.",
    )
    retention_at_risk_factor = fields.Float(
        string="At-Risk Factor",
        default=1.5,
        digits=(16, 2),
        help="A customer is At risk when the time since the last order exceeds "
        "this multiple of their usual interval between orders.",
    )
    retention_min_at_risk_days = fields.Integer(
        string="Minimum Days Before At Risk",
        default=30,
        help="Never flag a customer as At risk earlier than this, even if they "
        "usually order every few days.",
    )
    retention_dormant_days = fields.Integer(
        string="Dormant After (days)",
        default=180,
        help="Without an order for this many days a customer is At risk whatever "
        "their usual interval; also the limit for customers with a single order.",
    )
    retention_lost_days = fields.Integer(
        string="Lost After (days)",
        default=365,
        help="Without an order for this many days a customer counts as Lost.",
    )
    retention_trend_period = fields.Selection(
        selection=[
            ("month", "Month (30 days)"),
            ("quarter", "Quarter (91 days)"),
            ("year", "Year (365 days)"),
        ],
        string="Trend Period",
        default="quarter",
        required=True,
        help="The sales trend compares the last period with the one before it.",
    )
    retention_group_field = fields.Selection(
        selection=GROUP_FIELDS,
        string="Peer Group",
        default="country_id",
        required=True,
        help="Customers are ranked (Top 10% / 25% / 50%) against the customers "
        "that share this value.",
    )
    retention_frequent_visits = fields.Integer(
        string="Frequent Customer Visits",
        default=4,
        help="A customer with at least this many visits in the last 365 days is "
        "Frequent (or Valuable when also in the top 25% of their group).",
    )
    retention_source = fields.Selection(
        selection=[
            ("sale", "Confirmed sales orders"),
            ("invoice", "Posted customer invoices and credit notes"),
        ],
        string="Transactions From",
        default="sale",
        required=True,
        help="Sales orders suit shops that sell through quotations; invoices suit "
        "businesses that invoice directly. Credit notes lower revenue but are "
        "not visits.",
    )
    retention_last_run = fields.Datetime(
        string="Last Retention Recompute",
        readonly=True,
        copy=False,
    )

    def _retention_settings(self):
        """The engine's view of this company's thresholds."""
        self.ensure_one()
        return RetentionSettings(
            **{attr: self[fname] for fname, attr in SETTING_FIELDS.items()}
        )

    @api.constrains(*SETTING_FIELDS)
    def _check_retention_settings(self):
        for company in self:
            problems = company._retention_settings().problems()
            if problems:
                lines = [self.env._(template, **params) for template, params in problems]
                raise ValidationError(
                    self.env._(
                        "Customer Retention settings of %(company)s are not valid:\n%(problems)s",
                        company=company.name,
                        problems="\n".join(f"- {line}" for line in lines),
                    )
                )
