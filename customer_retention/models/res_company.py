# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The company's retention settings: the engine's thresholds, the sources
of its transactions, the outlook's horizon, the win-back SMS guardrails and
the win-back calls, each checked where the engine states its rule. The
nightly run that applies them is a record of its own (retention_run.py;
the company's side of it: res_company_run.py)."""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine import (
    HORIZON_DAYS,
    TREND_PERIODS,
    CampaignSettings,
    RetentionSettings,
)
from . import retention_store
from .engine_text import engine_problems
from .retention_call import MAX_DAILY_CAP

# Years of status history one may keep, and reconstruct month by month.
MAX_HISTORY_YEARS = 20
# Days ahead the chance of return may look (Settings).
MIN_HORIZON_DAYS = 7
MAX_HORIZON_DAYS = 730

# res.partner many2one fields that may define a customer's peer group.
GROUP_FIELDS = [
    ("none", "No grouping (whole company)"),
    ("industry_id", "Industry"),
    ("country_id", "Country"),
    ("state_id", "State"),
    ("user_id", "Salesperson"),
    ("team_id", "Sales Team"),
]

# company field -> engine setting: retention_<setting> for the retention
# rules, retention_sms_<setting> for the win-back SMS guardrails.
SETTING_FIELDS = {
    f"retention_{name}": name
    for name in RetentionSettings.names()
    if name != "currency_decimals"  # the company currency's, not a setting
}
CAMPAIGN_SETTING_FIELDS = {
    f"retention_sms_{name}": name for name in CampaignSettings.names()
}


# The company's retention fields (settings, the calibration; the run's
# record for the run's state) are read by Sales users, who work
# with them, and by Settings administrators, who set them; not by portal
# users nor by internal users without Sales rights (issue 21).
COMPANY_FIGURES = "sales_team.group_sale_salesman,base.group_system"


def _setting(field_class, settings_class, name, string, help_text, **kwargs):
    """A company field for the engine setting ``name``, with the engine's default."""
    return field_class(
        string=string, default=getattr(settings_class, name), help=help_text, **kwargs
    )


class ResCompany(models.Model):
    _inherit = "res.company"

    # Thresholds live on the company, not in ir.config_parameter: several may
    # legitimately be 0 (lookback 0 = all history), which config parameters
    # would store as "unset".
    retention_lookback_days = _setting(
        fields.Integer,
        RetentionSettings,
        "lookback_days",
        "Look-back Window (days)",
        "Only orders of the last N days count for visits, revenue, average "
        "ticket and cadence. 0 uses the whole history.",
        groups=COMPANY_FIGURES,
    )
    retention_new_days = _setting(
        fields.Integer,
        RetentionSettings,
        "new_days",
        "New Customer Period (days)",
        "A customer whose first order is at most this many days old is New.",
        groups=COMPANY_FIGURES,
    )
    retention_at_risk_factor = _setting(
        fields.Float,
        RetentionSettings,
        "at_risk_factor",
        "At-Risk Factor",
        "A customer is At risk when the time since the last order exceeds "
        "this multiple of their usual interval between orders.",
        digits=(16, 2),
        groups=COMPANY_FIGURES,
    )
    retention_min_at_risk_days = _setting(
        fields.Integer,
        RetentionSettings,
        "min_at_risk_days",
        "Minimum Days Before At Risk",
        "Never flag a customer as At risk earlier than this, even if they "
        "usually order every few days.",
        groups=COMPANY_FIGURES,
    )
    retention_dormant_days = _setting(
        fields.Integer,
        RetentionSettings,
        "dormant_days",
        "Dormant After (days)",
        "Without an order for this many days a customer is At risk whatever "
        "their usual interval; also the limit for customers with a single order.",
        groups=COMPANY_FIGURES,
    )
    retention_lost_days = _setting(
        fields.Integer,
        RetentionSettings,
        "lost_days",
        "Lost After (days)",
        "Without an order for this many days a customer counts as Lost.",
        groups=COMPANY_FIGURES,
    )
    retention_trend_period = _setting(
        fields.Selection,
        RetentionSettings,
        "trend_period",
        "Trend Period",
        "The sales trend compares the last period with the one before it.",
        selection=[
            (key, f"{label} ({days} days)") for key, label, days in TREND_PERIODS
        ],
        required=True,
        groups=COMPANY_FIGURES,
    )
    retention_group_field = fields.Selection(
        selection=GROUP_FIELDS,
        string="Peer Group",
        default="country_id",
        required=True,
        help="Customers are ranked (Top 10% / 25% / 50%) against the customers "
        "that share this value.",
        groups=COMPANY_FIGURES,
    )
    retention_frequent_visits = _setting(
        fields.Integer,
        RetentionSettings,
        "frequent_visits",
        "Frequent Customer Visits",
        "A customer with at least this many visits in the last 365 days is "
        "Frequent (or Valuable when also in the top 25% of their group).",
        groups=COMPANY_FIGURES,
    )
    retention_category_share = _setting(
        fields.Float,
        RetentionSettings,
        "category_share",
        "Category-focused Share",
        "A customer who spends at least this share of their revenue in one "
        "product category is Category-focused (0.8 = 80%).",
        digits=(16, 2),
        groups=COMPANY_FIGURES,
    )
    retention_source = fields.Selection(
        selection=[
            ("sale", "Confirmed sales orders"),
            ("invoice", "Posted customer invoices and credit notes"),
            (
                "sale_invoice",
                "Both: sales orders, and invoices and credit notes without an order",
            ),
        ],
        string="Transactions From",
        default="sale",
        required=True,
        help="Sales orders suit shops that sell through quotations; invoices suit "
        "businesses that invoice directly; both suit those that do each. Credit "
        "notes lower revenue but are not visits. With both, the invoices and "
        "credit notes of a sales order count as the order.",
        groups=COMPANY_FIGURES,
    )
    retention_include_pos = fields.Boolean(
        string="Also Count Point-of-Sale Orders",
        help="Point-of-sale orders paid, posted or invoiced are visits of their "
        "customer (refunds lower revenue); orders without a customer are not "
        "counted. Needs the Point of Sale app; without it, nothing is read.",
        groups=COMPANY_FIGURES,
    )
    retention_walk_in_id = fields.Many2one(
        "res.partner",
        string="Walk-in Customer",
        help='The anonymous customer of the till or the counter ("Retail"): its '
        "orders belong to nobody in particular and never count for retention.",
        groups=COMPANY_FIGURES,
    )
    retention_ticket_band_width = fields.Float(
        string="Average Ticket Band Width",
        default=500.0,
        digits=(16, 2),
        help="Customers are grouped by average ticket in bands this wide, in the "
        "company currency (500: 0-500, 500-1000...).",
        groups=COMPANY_FIGURES,
    )
    retention_cutoff_date = fields.Date(
        string="Last Order Cut-off Date",
        help="Customers are split by whether their last order came before or after "
        "this day: text only those served before a promotion started, say.",
        groups=COMPANY_FIGURES,
    )
    retention_history_years = fields.Integer(
        string="Retention History (years)",
        default=3,
        help="Status changes older than this are deleted every night, and the "
        "customers by status of the months before the addon was installed are "
        "reconstructed this far back.",
        groups=COMPANY_FIGURES,
    )
    # The outlook (engine/predict.py), fitted by the nightly run.
    retention_predict_horizon_days = fields.Integer(
        string="Chance of Return Horizon (days)",
        default=HORIZON_DAYS,
        help="The chance of return is the chance of at least one visit within this "
        "many days; the next nightly run fits the models for it.",
        groups=COMPANY_FIGURES,
    )
    retention_sms_cap_days = _setting(
        fields.Integer,
        CampaignSettings,
        "cap_days",
        "SMS Frequency Cap (days)",
        "A customer texted by a win-back SMS campaign (or kept in its control "
        "group) is not "
        "texted again for this many days. 0 disables the cap.",
        groups=COMPANY_FIGURES,
    )
    retention_sms_quiet_start = _setting(
        fields.Float,
        CampaignSettings,
        "quiet_start",
        "Quiet Hours From",
        "SMS queued from this hour (company time zone) are held until the quiet "
        "hours end.",
        groups=COMPANY_FIGURES,
    )
    retention_sms_quiet_end = _setting(
        fields.Float,
        CampaignSettings,
        "quiet_end",
        "Quiet Hours Until",
        "Held SMS go to the outgoing queue at this hour. Equal to the start: no "
        "quiet hours.",
        groups=COMPANY_FIGURES,
    )
    retention_sms_max_batch = _setting(
        fields.Integer,
        CampaignSettings,
        "max_batch",
        "Maximum SMS per Campaign",
        "A campaign that would text more customers is refused: narrow the "
        "selection. 0: no limit.",
        groups=COMPANY_FIGURES,
    )
    retention_sms_holdout_percent = _setting(
        fields.Float,
        CampaignSettings,
        "holdout_percent",
        "Control Group (%)",
        "Share of the eligible customers kept out of each campaign at random, and "
        "not texted, "
        "to measure what the SMS really changed. 0: no control group.",
        digits=(16, 1),
        groups=COMPANY_FIGURES,
    )
    retention_sms_winback_days = _setting(
        fields.Integer,
        CampaignSettings,
        "winback_days",
        "Win-back Window (days)",
        "A texted customer who orders within this many days after the SMS counts "
        "as won back.",
        groups=COMPANY_FIGURES,
    )

    retention_sms_last_campaign = fields.Datetime(
        string="Last Win-back SMS Campaign",
        readonly=True,
        copy=False,
        help="Stamped by every campaign: two campaigns of the company never run at the "
        "same time.",
        groups=COMPANY_FIGURES,
    )

    # Win-back calls (retention_call.py)
    retention_call_daily_cap = fields.Integer(
        string="Win-back Calls per Salesperson per Day",
        default=20,
        help="At most this many win-back calls are planned for one salesperson on one "
        "day; the others wait for the next days. 0: no limit.",
        groups=COMPANY_FIGURES,
    )
    retention_call_plan_auto = fields.Boolean(
        string="Plan Win-back Calls Every Night",
        help="After the nightly recompute, a Call activity is planned for every "
        "customer who became at risk, assigned to their salesperson.",
        groups=COMPANY_FIGURES,
    )
    retention_call_plan_since = fields.Date(
        string="Win-back Calls Planned Since",
        readonly=True,
        copy=False,
        help="Customers who became at risk from this day on are planned a call "
        "automatically; set by the first planning.",
        groups=COMPANY_FIGURES,
    )
    retention_calls_planned_at = fields.Datetime(
        string="Last Win-back Call Planning",
        readonly=True,
        copy=False,
        help="When the last automatic planning of win-back calls ended.",
        groups=COMPANY_FIGURES,
    )

    def _retention_settings(self, fixed=False):
        """The engine's view of this company's thresholds: in calibrated
        mode with the calibrated ones, unless ``fixed``."""
        self.ensure_one()
        settings = RetentionSettings(
            currency_decimals=self.currency_id.decimal_places,
            **{attr: self[fname] for fname, attr in SETTING_FIELDS.items()},
        )
        return settings if fixed else self._retention_with_calibrated(settings)

    # ------------------------------------------------------------
    # Dates: a company's "today" is on its own clock
    # ------------------------------------------------------------

    def _retention_local_date(self, utc_datetime):
        """The day, on this company's clock, of a stored (UTC) datetime."""
        self.ensure_one()
        tz = retention_store.company_timezone(self)
        return fields.Datetime.context_timestamp(
            self.with_context(tz=tz), utc_datetime
        ).date()

    def _retention_today(self, now=None):
        return self._retention_local_date(now or fields.Datetime.now())

    def _retention_as_of(self, as_of):
        """``as_of`` as a date (today when empty); a UserError for anything
        that is not a date up to the company's today."""
        today = self._retention_today()
        if not as_of:
            return today
        try:
            day = fields.Date.to_date(as_of)
        except (TypeError, ValueError):
            day = None
        if not day:
            raise UserError(
                self.env._(
                    "%(value)s is not a date: give the reference day as YYYY-MM-DD.",
                    value=as_of,
                )
            )
        if day > today:
            raise UserError(
                self.env._(
                    "Customer retention cannot be computed as of %(day)s, later than "
                    "today (%(today)s) in %(company)s: orders of the future are "
                    "unknown.",
                    day=day,
                    today=today,
                    company=self.name,
                )
            )
        return day

    def _retention_plan_calls(self, limit_per_user=None, partners=None, planner=None):
        """Plan win-back calls in this company (retention.call._plan): for
        the customers who became at risk, or for ``partners``; returns the
        counts of planned and skipped customers."""
        self.ensure_one()
        return self.env["retention.call"]._plan(
            self, partners=partners, cap=limit_per_user, planner=planner
        )

    # ------------------------------------------------------------
    # Checks: each rule where the engine states it
    # ------------------------------------------------------------

    @api.constrains("retention_ticket_band_width")
    def _check_retention_ticket_band_width(self):
        for company in self:
            if company.retention_ticket_band_width <= 0:
                raise ValidationError(
                    self.env._(
                        "The average ticket band width of %(company)s must be more "
                        "than 0, in the company currency (500, say).",
                        company=company.name,
                    )
                )

    @api.constrains("retention_call_daily_cap")
    def _check_retention_call_daily_cap(self):
        for company in self:
            if not 0 <= company.retention_call_daily_cap <= MAX_DAILY_CAP:
                raise ValidationError(
                    self.env._(
                        "The daily limit of win-back calls per salesperson of "
                        "%(company)s must be between 0 and %(maximum)s (0: no limit).",
                        company=company.name,
                        maximum=MAX_DAILY_CAP,
                    )
                )

    @api.constrains("retention_predict_horizon_days")
    def _check_retention_predict_horizon_days(self):
        for company in self:
            days = company.retention_predict_horizon_days
            if not MIN_HORIZON_DAYS <= days <= MAX_HORIZON_DAYS:
                raise ValidationError(
                    self.env._(
                        "The chance of return of %(company)s must look between "
                        "%(minimum)s and %(maximum)s days ahead (90 by default).",
                        company=company.name,
                        minimum=MIN_HORIZON_DAYS,
                        maximum=MAX_HORIZON_DAYS,
                    )
                )

    @api.constrains("retention_history_years")
    def _check_retention_history_years(self):
        for company in self:
            if not 0 <= company.retention_history_years <= MAX_HISTORY_YEARS:
                raise ValidationError(
                    self.env._(
                        "The retention history of %(company)s must be kept between 0 "
                        "and %(maximum)s years (0: status changes are never deleted).",
                        company=company.name,
                        maximum=MAX_HISTORY_YEARS,
                    )
                )

    @api.constrains(*SETTING_FIELDS)
    def _check_retention_settings(self):
        for company in self:
            company._retention_refuse(
                company._retention_settings(fixed=True).problems()
            )

    @api.constrains(*CAMPAIGN_SETTING_FIELDS)
    def _check_retention_campaign_settings(self):
        for company in self:
            company._retention_refuse(
                company._retention_campaign_settings().problems(), campaign=True
            )

    def _retention_refuse(self, problems, campaign=False):
        """A ValidationError listing the engine's ``problems`` with the
        company's settings (or its win-back SMS guardrails), if any."""
        if not problems:
            return
        params = {"company": self.name, "problems": engine_problems(self.env, problems)}
        if campaign:
            message = self.env._(
                "Win-back SMS settings of %(company)s are not valid:\n%(problems)s",
                **params,
            )
        else:
            message = self.env._(
                "Customer Retention settings of %(company)s are not "
                "valid:\n%(problems)s",
                **params,
            )
        raise ValidationError(message)

    def _retention_campaign_settings(self):
        self.ensure_one()
        return CampaignSettings(
            **{attr: self[fname] for fname, attr in CAMPAIGN_SETTING_FIELDS.items()}
        )
