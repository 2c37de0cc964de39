# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.exceptions import AccessError

from . import retention_args, retention_sources


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
    retention_include_pos = fields.Boolean(
        related="company_id.retention_include_pos", readonly=False
    )
    # The point-of-sale setting is shown only where point_of_sale is
    # installed (not a dependency of this addon).
    retention_pos_available = fields.Boolean(compute="_compute_retention_pos_available")
    retention_walk_in_id = fields.Many2one(
        related="company_id.retention_walk_in_id", readonly=False
    )
    retention_ticket_band_width = fields.Float(
        related="company_id.retention_ticket_band_width", readonly=False
    )
    retention_cutoff_date = fields.Date(
        related="company_id.retention_cutoff_date", readonly=False
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
    # The nightly run's state (retention_run.py)
    retention_last_run = fields.Datetime(related="company_id.retention_run_id.last_run")
    retention_last_error = fields.Text(related="company_id.retention_run_id.last_error")
    retention_recompute_requested = fields.Boolean(
        related="company_id.retention_run_id.requested"
    )
    retention_run_as_of = fields.Date(related="company_id.retention_run_id.as_of")
    retention_run_phase = fields.Selection(related="company_id.retention_run_id.phase")
    retention_run_written = fields.Integer(
        related="company_id.retention_run_id.written"
    )
    retention_call_daily_cap = fields.Integer(
        related="company_id.retention_call_daily_cap", readonly=False
    )
    retention_call_plan_auto = fields.Boolean(
        related="company_id.retention_call_plan_auto", readonly=False
    )
    retention_call_plan_since = fields.Date(
        related="company_id.retention_call_plan_since"
    )
    # Back-tests and calibrated thresholds (retention_backtest.py)
    retention_threshold_mode = fields.Selection(
        related="company_id.retention_threshold_mode", readonly=False
    )
    retention_calibrated_at_risk_factor = fields.Float(
        related="company_id.retention_calibrated_at_risk_factor"
    )
    retention_calibrated_min_at_risk_days = fields.Integer(
        related="company_id.retention_calibrated_min_at_risk_days"
    )
    retention_calibrated_dormant_days = fields.Integer(
        related="company_id.retention_calibrated_dormant_days"
    )
    retention_calibrated_on = fields.Date(related="company_id.retention_calibrated_on")
    retention_calibrated_groups_summary = fields.Char(
        related="company_id.retention_calibrated_groups_summary"
    )
    retention_calibrated_youden_j = fields.Float(
        related="company_id.retention_calibrated_backtest_id.calibration_youden_j"
    )
    retention_calibrated_current_youden_j = fields.Float(
        related=(
            "company_id.retention_calibrated_backtest_id.calibration_current_youden_j"
        )
    )

    # The outlook (engine/predict.py)
    retention_predict_horizon_days = fields.Integer(
        related="company_id.retention_predict_horizon_days", readonly=False
    )
    retention_prediction_summary = fields.Char(
        string="Model Used", compute="_compute_retention_prediction_summary"
    )
    retention_prediction_fitted_at = fields.Datetime(
        related="company_id.retention_run_id.prediction_fitted_at"
    )

    def _compute_retention_prediction_summary(self):
        for settings in self:
            # sudo: the run's own summary, shown to Settings administrators
            run = settings.company_id.sudo().retention_run_id
            # A company without a run yet reads as one that never fitted.
            run = run or run.new({"company_id": settings.company_id.id})
            settings.retention_prediction_summary = run.prediction_summary

    def _compute_retention_pos_available(self):
        self.retention_pos_available = retention_sources.pos_installed(self.env)

    def action_retention_recompute(self):
        """Save the settings, then hand a recompute of the current company to
        the daily job: it runs in the background, in committed chunks,
        never inside this request."""
        retention_args.one(self)
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

    def action_retention_plan_calls(self):
        """Save the settings, then plan the win-back calls of the current
        company now, as the nightly job does."""
        retention_args.one(self)
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(
                self.env._("Only Sales administrators can plan calls for the company.")
            )
        self.execute()
        company = self.env.company
        counts = company._retention_plan_calls()
        if not counts["remaining"]:
            # sudo: the planning's own stamp on the company
            company.sudo().retention_calls_planned_at = fields.Datetime.now()
        return self.env["retention.call"]._notification(counts)

    def action_retention_backtest(self):
        """Save the settings, then back-test the current company as of
        today and open the result."""
        retention_args.one(self)
        self.execute()
        return self.env.company.retention_backtest()

    def action_retention_apply_calibrated(self):
        """Save the settings, then copy the calibrated thresholds into the
        fixed ones."""
        retention_args.one(self)
        self.execute()
        self.env.company.action_retention_apply_calibrated()
        return {"type": "ir.actions.client", "tag": "reload"}
