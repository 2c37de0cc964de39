# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # Related to res.company rather than config_parameter: 0 is a meaningful
    # value for some thresholds and config parameters would store it as unset.
    retention_lookback_days = fields.Integer(
        related="company_id.retention_lookback_days", readonly=False
    )
    retention_new_days = fields.Integer(
        related="company_id.retention_new_days", readonly=False
    )
    retention_at_risk_factor = fields.Float(
        related="company_id.retention_at_risk_factor", readonly=False
    )
    retention_min_at_risk_days = fields.Integer(
        related="company_id.retention_min_at_risk_days", readonly=False
    )
    retention_dormant_days = fields.Integer(
        related="company_id.retention_dormant_days", readonly=False
    )
    retention_lost_days = fields.Integer(
        related="company_id.retention_lost_days", readonly=False
    )
    retention_trend_period = fields.Selection(
        related="company_id.retention_trend_period", readonly=False
    )
    retention_group_field = fields.Selection(
        related="company_id.retention_group_field", readonly=False
    )
    retention_frequent_visits = fields.Integer(
        related="company_id.retention_frequent_visits", readonly=False
    )
    retention_category_share = fields.Float(
        related="company_id.retention_category_share", readonly=False
    )
    retention_source = fields.Selection(
        related="company_id.retention_source", readonly=False
    )
    retention_walk_in_id = fields.Many2one(
        related="company_id.retention_walk_in_id", readonly=False
    )
    retention_history_years = fields.Integer(
        related="company_id.retention_history_years", readonly=False
    )
    retention_sms_cap_days = fields.Integer(
        related="company_id.retention_sms_cap_days", readonly=False
    )
    retention_sms_quiet_start = fields.Float(
        related="company_id.retention_sms_quiet_start", readonly=False
    )
    retention_sms_quiet_end = fields.Float(
        related="company_id.retention_sms_quiet_end", readonly=False
    )
    retention_sms_max_batch = fields.Integer(
        related="company_id.retention_sms_max_batch", readonly=False
    )
    retention_sms_holdout_percent = fields.Float(
        related="company_id.retention_sms_holdout_percent", readonly=False
    )
    retention_sms_winback_days = fields.Integer(
        related="company_id.retention_sms_winback_days", readonly=False
    )
    retention_last_run = fields.Datetime(related="company_id.retention_last_run")
    retention_last_error = fields.Text(related="company_id.retention_last_error")
    retention_recompute_requested = fields.Boolean(
        related="company_id.retention_recompute_requested"
    )
    retention_run_as_of = fields.Date(related="company_id.retention_run_as_of")
    retention_run_phase = fields.Selection(related="company_id.retention_run_phase")
    retention_run_written = fields.Integer(related="company_id.retention_run_written")

    def action_retention_recompute(self):
        """Save the settings, then hand a recompute of the current company to
        the daily job: it runs in the background, in committed chunks,
        never inside this request."""
        self.execute()
        company = self.env.company
        company._retention_request_recompute()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Customer retention recompute started"),
                "message": self.env._(
                    "The customers of %(company)s are being recomputed in the "
                    "background; "
                    "the new values appear within a few minutes.",
                    company=company.name,
                ),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "reload"},
            },
        }
