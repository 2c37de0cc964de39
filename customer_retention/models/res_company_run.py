# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The company's side of its nightly run (retention_run.py): the run's
record, and the entry points that other code, the scheduled actions of
existing databases (noupdate records calling res.company) and scripts
call, each handing over to the run."""

from odoo import api, fields, models

from .res_company import COMPANY_FIGURES

# Settings that change which documents or customers count: Retention
# Analysis is rebuilt whole by the next run.
REPORT_SOURCES = ("retention_source", "retention_include_pos", "retention_walk_in_id")


class ResCompany(models.Model):
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    retention_run_id = fields.Many2one(
        "retention.run",
        string="Nightly Retention Run",
        compute="_compute_retention_run_id",
        groups=COMPANY_FIGURES,
    )

    def _compute_retention_run_id(self):
        # sudo: finding the run; reading it takes the reader's own rights
        runs = self.env["retention.run"].sudo().search([("company_id", "in", self.ids)])
        by_company = {run.company_id.id: run.id for run in runs}
        for company in self:
            company.retention_run_id = by_company.get(company.id, False)

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        # A new company's first values come within minutes, not tomorrow night.
        self._retention_trigger_first_run()
        return companies

    @api.model
    def _retention_trigger_first_run(self):
        """Ask the daily job to run as soon as a cron worker is free: a
        company that never had a run is due (retention.run), and the job
        works in its usual bounded calls."""
        cron = self.env.ref(
            "customer_retention.ir_cron_retention_recompute", raise_if_not_found=False
        )
        if cron:
            # sudo: a trigger of the addon's own job, for whoever installs
            # the addon or creates a company
            cron.sudo()._trigger()

    def _retention_run(self):
        """The company's run, created if it has none yet."""
        self.ensure_one()
        return self.env["retention.run"]._of(self)

    def _retention_recompute(
        self, as_of=None, partner_ids=None, commit_batches=False, lock_wait=0.0
    ):
        """Recompute this company at once (retention.run._recompute)."""
        return self._retention_run()._recompute(
            as_of,
            partner_ids=partner_ids,
            commit_batches=commit_batches,
            lock_wait=lock_wait,
        )

    def _retention_recompute_changed(self, as_of=None, lock_wait=0.0):
        """Recompute the customers whose orders changed since the last run
        (retention.run._recompute_changed)."""
        return self._retention_run()._recompute_changed(as_of, lock_wait=lock_wait)

    def _retention_run_step(self, budget, lock_wait=0.0, stats=None, as_of=None):
        """One bounded step of the company's run (retention.run._step)."""
        return self._retention_run()._step(
            budget, lock_wait=lock_wait, stats=stats, as_of=as_of
        )

    def _retention_request_recompute(self):
        """Hand a whole-company recompute to the daily job."""
        self._retention_run()._request()

    def _retention_prediction_horizon(self):
        """The days the stored chances of return look ahead: those the
        models were fitted for (None without models)."""
        self.ensure_one()
        # sudo: the run's own models, read to word the customers' reasons
        params = self.sudo().retention_run_id.prediction_params
        return params.get("horizon_days") if params else None

    @api.model
    def _cron_retention_recompute(self):
        """The daily job's scheduled action (retention.run._cron_daily)."""
        self.env["retention.run"]._cron_daily()

    @api.model
    def _cron_retention_recompute_changed(self):
        """The hourly job's scheduled action (retention.run._cron_hourly)."""
        self.env["retention.run"]._cron_hourly()

    def write(self, vals):
        watched = [name for name in REPORT_SOURCES if name in vals]
        if not watched:
            return super().write(vals)
        before = {company.id: [company[name] for name in watched] for company in self}
        result = super().write(vals)
        changed = self.filtered(
            lambda company: [company[name] for name in watched] != before[company.id]
        )
        # sudo: the run's own bookkeeping of Retention Analysis
        changed.sudo().retention_run_id.report_until = False
        return result
