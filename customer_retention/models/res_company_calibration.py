# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The company's side of the back-tests: the threshold mode, the calibrated
thresholds (the company's and its peer groups' own) and the actions behind
them. The back-tests themselves are in retention_backtest.py."""

import dataclasses

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..engine.judgement import Judgement
from . import retention_args, retention_store
from .res_company import COMPANY_FIGURES


class ResCompany(models.Model):
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    retention_threshold_mode = fields.Selection(
        selection=[
            ("fixed", "Fixed: the thresholds set here"),
            ("calibrated", "Calibrated every month on the business's own past"),
        ],
        string="At-Risk Thresholds",
        default="fixed",
        required=True,
        help="Calibrated: the at-risk factor, the minimum days and the dormant days "
        "are those that told best, on the last months, who would not come back "
        "(the monthly back-test); the fixed values apply until there are some.",
        groups=COMPANY_FIGURES,
    )
    retention_calibrated_at_risk_factor = fields.Float(
        string="Calibrated At-Risk Factor",
        readonly=True,
        copy=False,
        digits=(16, 2),
        groups=COMPANY_FIGURES,
    )
    retention_calibrated_min_at_risk_days = fields.Integer(
        string="Calibrated Minimum Days Before At Risk",
        readonly=True,
        copy=False,
        groups=COMPANY_FIGURES,
    )
    retention_calibrated_dormant_days = fields.Integer(
        string="Calibrated Dormant After (days)",
        readonly=True,
        copy=False,
        groups=COMPANY_FIGURES,
    )
    retention_calibrated_on = fields.Date(
        string="Thresholds Calibrated On",
        readonly=True,
        copy=False,
        groups=COMPANY_FIGURES,
    )
    retention_calibrated_groups = fields.Json(
        string="Peer Groups' Own Thresholds",
        readonly=True,
        copy=False,
        help="The peer groups whose own calibrated thresholds told better than the "
        "company's, on two horizons in a row: {'field': the peer-group field they "
        "were calibrated on, 'thresholds': [[group id, factor, minimum days, "
        "dormant days], ...]}. In calibrated mode only, while the peer group "
        "stays that field.",
        groups=COMPANY_FIGURES,
    )
    retention_calibrated_groups_summary = fields.Char(
        string="Peer Groups With Their Own Thresholds",
        compute="_compute_retention_calibrated_groups_summary",
        groups=COMPANY_FIGURES,
    )
    retention_calibrated_judgement = fields.Json(
        string="Calibrated Judgement",
        readonly=True,
        copy=False,
        help="Calibrated mode's verdict, chosen by the monthly back-test on the "
        "business's own past (engine/judgement.py): {'kind': 'chance' or "
        "'cadence', 'chance_threshold': percent, 'label_factor': k, "
        "'horizon_days': H}. With the chance kind a customer is at risk or lost "
        "below the threshold, new or active at or above it.",
        groups=COMPANY_FIGURES,
    )
    retention_calibrated_backtest_id = fields.Many2one(
        "retention.backtest",
        string="Back-test of the Calibration",
        readonly=True,
        copy=False,
        ondelete="set null",
        groups=COMPANY_FIGURES,
    )
    retention_backtest_attempt = fields.Datetime(
        string="Last Monthly Back-test Attempt",
        readonly=True,
        copy=False,
        help="When the monthly back-test last tried this company.",
        groups=COMPANY_FIGURES,
    )

    def _retention_with_calibrated(self, settings):
        """``settings`` with the calibrated at-risk thresholds in calibrated
        mode, when there are some and they fit the other settings (a lost
        limit lowered since, say), and the peer groups' own; else
        ``settings`` as they are."""
        if (
            self.retention_threshold_mode != "calibrated"
            or not self.retention_calibrated_on
        ):
            return settings
        calibrated = dataclasses.replace(
            settings,
            at_risk_factor=self.retention_calibrated_at_risk_factor,
            min_at_risk_days=self.retention_calibrated_min_at_risk_days,
            dormant_days=self.retention_calibrated_dormant_days,
        )
        if calibrated.problems():
            return settings
        return dataclasses.replace(
            calibrated,
            group_thresholds=self._retention_group_thresholds(calibrated.lost_days),
        )

    def _retention_judgement(self):
        """Calibrated mode's judgement in use (engine ``Judgement``), or None:
        in fixed mode, before the first back-test put one in use, or when
        the prediction horizon changed since (the chance it was chosen for
        is no longer the one the night computes)."""
        self.ensure_one()
        # sudo: the calibration's own values, read by the run for every user
        company = self.sudo()
        stored = company.retention_calibrated_judgement
        if company.retention_threshold_mode != "calibrated" or not stored:
            return None
        judgement = Judgement.from_dict(stored)
        if judgement.horizon_days != company.retention_predict_horizon_days:
            return None
        return judgement

    def _retention_judged_by_chance(self):
        """The judgement in use when it is of the chance kind, else None."""
        judgement = self._retention_judgement()
        return judgement if judgement and judgement.kind == "chance" else None

    def _retention_group_thresholds(self, lost_days):
        """The peer groups' own calibrated thresholds as the engine takes
        them, while the peer group is still the field they were calibrated
        on, and those that fit the lost limit (lowered since, say)."""
        stored = self.retention_calibrated_groups or {}
        field = retention_store.group_column(self)
        if not field or stored.get("field") != field:
            return ()
        return tuple(
            (int(key), float(factor), int(minimum), int(dormant))
            for key, factor, minimum, dormant in stored.get("thresholds") or ()
            if 1 <= factor and minimum <= dormant <= lost_days
        )

    def _retention_status_groups(self, settings, partner_ids):
        """The peer groups of ``partner_ids`` when their statuses need them
        (peer groups with thresholds of their own), else None."""
        if not settings.group_thresholds:
            return None
        return retention_store.extract_groups(self, partner_ids)

    @api.depends("retention_calibrated_groups", "retention_group_field")
    def _compute_retention_calibrated_groups_summary(self):
        for company in self:
            own = company._retention_group_thresholds(company.retention_lost_days)
            field = retention_store.group_column(company)
            if not own or not field:
                company.retention_calibrated_groups_summary = False
                continue
            comodel = self.env["res.partner"]._fields[field].comodel_name
            names = dict(
                self.env[comodel]
                .browse([key for key, *_values in own])
                .mapped(lambda record: (record.id, record.display_name))
            )
            company.retention_calibrated_groups_summary = "; ".join(
                self.env._(
                    "%(group)s: %(factor)s × usual interval, %(minimum)s to "
                    "%(dormant)s days",
                    group=names.get(key, key),
                    factor=format(factor, "g"),
                    minimum=minimum,
                    dormant=dormant,
                )
                for key, factor, minimum, dormant in own
            )

    def retention_backtest(self, as_of=None, horizon_days=None):
        """Back-test this company's at-risk flags on its own past as of
        ``as_of`` (today) over ``horizon_days`` (the prediction horizon, 90
        days), store it and return an action opening it. Sales managers of
        the company only (the figures read every order)."""
        retention_args.one(self)
        Backtest = self.env["retention.backtest"]
        Backtest._check_may_run(self)
        as_of = self._retention_as_of(as_of)
        horizon = Backtest._horizon(self, horizon_days)
        return Backtest._run(self, as_of, horizon).action_open()

    def action_retention_apply_calibrated(self):
        """Copy the calibrated thresholds into the fixed ones (checked by
        their constraint like any other value)."""
        retention_args.one(self)
        # Thresholds are settings: Settings administrators of the company, as
        # every other retention setting (res.config.settings), not Sales
        # administrators, who run back-tests but do not change settings.
        if not self.env.su and (
            not self.env.user.has_group("base.group_system")
            or self not in self.env.user.company_ids
        ):
            raise AccessError(
                self.env._(
                    "Only Settings administrators of %(company)s can change its "
                    "retention thresholds.",
                    company=self.name,
                )
            )
        if not self.retention_calibrated_on:
            raise UserError(
                self.env._(
                    "%(company)s has no calibrated thresholds yet: run a back-test "
                    "first.",
                    company=self.name,
                )
            )
        # sudo: Settings administrators (checked above) may lack the right to
        # write companies in a multi-company set-up; the constraints still
        # check the values.
        self.sudo().write(
            {
                "retention_at_risk_factor": self.retention_calibrated_at_risk_factor,
                "retention_min_at_risk_days": (
                    self.retention_calibrated_min_at_risk_days
                ),
                "retention_dormant_days": self.retention_calibrated_dormant_days,
            }
        )
