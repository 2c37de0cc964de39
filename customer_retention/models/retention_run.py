# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The nightly run of a company: its state, its phases and its jobs.

One ``retention.run`` per company, created when first needed, holds where
the company's whole-company run is (its day, phase and position, so that an
interrupted run resumes at its next chunk), what the daily and hourly jobs
last did, the bookkeeping of Retention Analysis and the outlook's models.
Only the run writes it (no user has write rights); Sales users and Settings
administrators of the company read it.

A run goes through the phases of PHASES in order, one bounded chunk per
step, each step committed with the run's new position. The steps are in
retention_run_phases.py.
"""

import contextlib
import logging
import time
from datetime import timedelta

from odoo import api, fields, models

from ..engine import MODELS, NO_PREDICTION
from . import retention_jobs, retention_store
from . import retention_run_phases as phases
from .engine_text import engine_text
from .res_partner import RETENTION_FIELDS

_logger = logging.getLogger(__name__)

NOTHING_DONE = {
    "customers": 0,
    "written": 0,
    "cleared": 0,
    "chunks": 0,
    "rank_s": 0.0,
    "history_s": 0.0,
    "predict_s": 0.0,  # the outlook: the models' fit and the scoring
    "fit_s": 0.0,  # the models' fit alone
    "extract_s": 0.0,
    "engine_s": 0.0,
    "write_s": 0.0,
    "longest_chunk_s": 0.0,
}

# Written in SQL by a run: what the ORM may hold of them is stale after it.
HISTORY_MODELS = (
    "retention.status.change",
    "retention.report",
    "retention.pulse.week",
    "retention.visit.hour",
    "retention.cohort",
    "retention.status.month",
    "retention.status.flow",
    "retention.partner.category",
    "retention.category.gap",
)
# A company updated by the hourly job this recently is not due again.
HOURLY_SLACK = timedelta(minutes=30)
DAILY_JOB = "customer_retention.ir_cron_retention_recompute"
HOURLY_JOB = "customer_retention.ir_cron_retention_recompute_changed"


def _every_run(run):
    return True


_of_today = phases.of_today


def _scored_after_ranking(run):
    """Today's run that found no stored customer to fit the outlook's
    models on before the values (the first night): it fits them once the
    customers are ranked, then scores everybody in a phase of its own."""
    return _of_today(run) and not run.models_fitted_first


# The phases of a run, in order: phase -> (its step, the runs that go
# through it). A step does one bounded chunk of its phase and returns the
# run's new values and whether the phase is done; the run then goes on to
# the next phase that applies to it, and ends after the last one.
#
#   today's run:        fit -> compute -> rank -> history
#   the first night:    fit -> compute -> rank -> refit -> predict -> history
#   a past day:                compute -> rank
#
# Today's chunks of ``compute`` bring Retention Analysis up to date from the
# documents they read for the values, once it was first built: ``history``
# then only ends it (its own chunks are its first build's, or a rebuild's).
PHASES = {
    "fit": (phases.fit, _of_today),
    "compute": (phases.compute, _every_run),
    "rank": (phases.rank, _every_run),
    "refit": (phases.refit, _scored_after_ranking),
    "predict": (phases.predict, _scored_after_ranking),
    "history": (phases.history, _of_today),
}


class RetentionRun(models.Model):
    _name = "retention.run"
    _description = "Customer Retention Nightly Run"
    _rec_name = "company_id"
    _order = "company_id"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, ondelete="cascade"
    )

    # The run in progress: an interrupted run resumes at its next chunk.
    as_of = fields.Date(
        string="Retention Run Day",
        readonly=True,
        help="Day of the whole-company recompute in progress; empty when none is.",
    )
    phase = fields.Selection(
        selection=[
            ("fit", "Fitting the outlook's models"),
            ("compute", "Computing values"),
            ("rank", "Ranking customers"),
            ("refit", "Fitting the outlook's models on the customers computed"),
            ("predict", "Predicting returns"),
            ("history", "Updating Retention Analysis"),
        ],
        string="Retention Run Phase",
        readonly=True,
    )
    cursor = fields.Integer(
        string="Retention Run Position",
        readonly=True,
        help="Highest customer id that the phase in progress has done.",
    )
    started = fields.Datetime(string="Retention Run Started", readonly=True)
    written = fields.Integer(
        string="Customers Updated by the Last Run",
        readonly=True,
        help="Customers whose values changed in the recompute in progress, or in the "
        "last one: the others were left untouched.",
    )
    models_fitted_first = fields.Boolean(
        string="Outlook Scored With the Values",
        readonly=True,
        help="The run in progress fitted the outlook's models before the values: "
        "each chunk of values is scored as it is computed.",
    )

    # The daily and hourly jobs
    last_run = fields.Datetime(
        string="Last Retention Recompute",
        readonly=True,
        help="When the last full recompute started (as of today in the company's time "
        "zone; back-tests excluded).",
    )
    last_attempt = fields.Datetime(
        string="Last Retention Attempt",
        readonly=True,
        help="When the daily job last tried this company, successfully or not.",
    )
    last_error = fields.Text(
        string="Last Retention Error",
        readonly=True,
        help="Why the last attempt of the daily job failed; empty after a successful "
        "run.",
    )
    requested = fields.Boolean(
        string="Retention Recompute Requested",
        readonly=True,
        help="An administrator asked for a recompute: the daily job runs it in the "
        "background as soon as it can.",
    )
    changed_until = fields.Datetime(
        string="Changed Customers Updated Until",
        readonly=True,
        help="Start of the last run that brought the customers whose orders changed up "
        "to date.",
    )

    # Retention Analysis
    report_until = fields.Datetime(
        string="Retention Analysis Updated Until",
        readonly=True,
        help="Start of the last run that brought Retention Analysis up to date: the "
        "next one rewrites only the customers whose orders changed since.",
    )
    months_built = fields.Boolean(
        string="Past Months Reconstructed",
        readonly=True,
        help="The customers by status at the end of the past months were "
        "reconstructed from the order history.",
    )

    # The outlook (engine/predict.py): the models fitted by the nightly run.
    prediction_params = fields.Json(
        string="Prediction Models",
        readonly=True,
        help="The models the nightly run fitted, with which every customer is "
        "scored each night until they are fitted again (once they are a week old, "
        "or at once when the horizon, the thresholds or the calibration change).",
    )
    prediction_fitted_at = fields.Datetime(
        string="Prediction Models Fitted On", readonly=True
    )
    prediction_model = fields.Selection(
        list(MODELS), string="Prediction Model Used", readonly=True
    )
    prediction_no_model = fields.Selection(
        list(NO_PREDICTION), string="Why No Prediction Model", readonly=True
    )
    prediction_bgnbd_auc = fields.Float(
        string="BG/NBD AUC", digits=(16, 2), readonly=True
    )
    prediction_rhythm_auc = fields.Float(
        string="Rhythm Model AUC", digits=(16, 2), readonly=True
    )
    prediction_summary = fields.Char(
        string="Model Used",
        compute="_compute_prediction_summary",
        help="The model that gives the chance of return, and how well each model "
        "told, on the company's own past, who came back (AUC: 0.5 is a coin toss, "
        "1 is always right).",
    )

    _sql_constraints = [
        ("company_uniq", "unique(company_id)", "A company has one nightly run."),
    ]

    @api.depends(
        "prediction_model",
        "prediction_no_model",
        "prediction_bgnbd_auc",
        "prediction_rhythm_auc",
        "prediction_fitted_at",
    )
    def _compute_prediction_summary(self):
        # Short names: the selection's labels explain each model at length.
        names = {
            "bgnbd": "BG/NBD",
            "rhythm": self.env._("rhythm"),
            "combined": self.env._("combined (rhythm and BG/NBD)"),
        }
        reasons = dict(NO_PREDICTION)
        for run in self:
            model = run.prediction_model
            auc = {
                "bgnbd": run.prediction_bgnbd_auc,
                "rhythm": run.prediction_rhythm_auc,
            }
            if not run.prediction_fitted_at:
                summary = self.env._("Not fitted yet: the next nightly run fits it.")
            elif not model:
                summary = engine_text(
                    self.env, reasons.get(run.prediction_no_model, "")
                )
            elif model == "combined":
                summary = self.env._(
                    "%(model)s, the chance that decides the statuses in calibrated "
                    "mode (see the back-test)",
                    model=names[model],
                )
            elif not (auc["bgnbd"] and auc["rhythm"]):
                summary = self.env._(
                    "%(model)s (not back-tested: too little history to compare)",
                    model=names[model],
                )
            else:
                other = "rhythm" if model == "bgnbd" else "bgnbd"
                summary = self.env._(
                    "%(model)s (AUC %(auc)s against %(other)s %(other_auc)s)",
                    model=names[model],
                    auc=format(auc[model], ".2f"),
                    other=names[other],
                    other_auc=format(auc[other], ".2f"),
                )
            run.prediction_summary = summary

    @api.model
    def _of(self, companies):
        """The runs of ``companies``, in their order, created for those that
        have none yet; in this environment (read with the caller's rights)."""
        # sudo: only the run writes runs, whoever starts it
        Run = self.sudo()
        runs = Run.search([("company_id", "in", companies.ids)])
        missing = companies - runs.company_id
        if missing:
            runs |= Run.create([{"company_id": company.id} for company in missing])
            missing.invalidate_recordset(["retention_run_id"])
        by_company = {run.company_id.id: run.id for run in runs}
        return self.browse([by_company[company.id] for company in companies])

    # ------------------------------------------------------------
    # A whole-company run, step by step
    # ------------------------------------------------------------

    def _step(self, budget, lock_wait=0.0, stats=None, as_of=None):
        """The daily job's unit of work on this company: begin the run of
        ``as_of`` (today) if it is not in progress, or resume it, then
        compute chunks until the run ends or ``budget`` seconds have passed.
        Returns whether the run is finished; ``stats`` adds up its figures."""
        self.ensure_one()
        stats = stats if stats is not None else dict(NOTHING_DONE)
        commit = not retention_store.testing()
        deadline = time.monotonic() + budget
        with self._locked(lock_wait):
            day = as_of or self.company_id._retention_today()
            if self.as_of != day:
                # none in progress, or one left over from an earlier day
                self._begin(day, commit, stats)
            longest = 0.0
            call_started = time.monotonic()
            while True:
                chunk_started = time.monotonic()
                phase = self.phase
                if self._chunk(commit, stats):
                    self._log(day, stats)
                    return True
                now = time.monotonic()
                longest = max(longest, now - chunk_started)
                # Stop before a chunk that would likely end past the budget,
                # and at a new phase once a quarter of it is spent: a phase's
                # chunks may be far longer than the last one's (a chunk of
                # ranks takes a second at L, fitting the outlook eight).
                if now + longest >= deadline or (
                    self.phase != phase and now - call_started >= budget / 4
                ):
                    self._log(day, stats, finished=False)
                    return False

    def _begin(self, as_of, commit, stats):
        """Start a whole-company run as of ``as_of``, before its first chunk."""
        self.env.flush_all()
        # sudo: the run's own bookkeeping, whoever started it
        self.sudo().write(
            {
                "as_of": as_of,
                "cursor": 0,
                "started": fields.Datetime.now().replace(microsecond=0),
                "written": 0,
                "models_fitted_first": False,
            }
        )
        self.sudo().phase = self._next_phase()
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _next_phase(self, after=None):
        """The phase that follows ``after`` (the first one without) for
        this run, or False: the run ends."""
        order = list(PHASES)
        following = order[order.index(after) + 1 :] if after else order
        return next((phase for phase in following if PHASES[phase][1](self)), False)

    def _chunk(self, commit, stats):
        """Do the next step of the run in progress and move the run past it,
        committed with it: an interrupted run resumes at the next step.
        Returns whether the run ended."""
        started = time.perf_counter()
        step = PHASES[self.phase][0]
        values, phase_done = step(self, stats)
        # sudo: the run's own bookkeeping
        self.sudo().write(values)
        finished = phase_done and self._phase_done()
        self._forget_written()
        if commit:
            # One step, one transaction.
            self.env.cr.commit()  # pylint: disable=invalid-commit
        stats["chunks"] += 1
        stats["longest_chunk_s"] = max(
            stats["longest_chunk_s"], time.perf_counter() - started
        )
        return finished

    def _phase_done(self):
        """The run's phase is done: move on to the next phase, or end the
        run. Returns whether the run ended."""
        run = self.sudo()  # the run's own bookkeeping
        following = self._next_phase(self.phase)
        if following:
            run.write({"phase": following, "cursor": 0})
            return False
        run.write(self._end_values())
        return True

    def _forget_written(self):
        """What the ORM may hold of what a step wrote in SQL is stale."""
        self.env["res.partner"].invalidate_model(RETENTION_FIELDS)
        for model in HISTORY_MODELS:
            self.env[model].invalidate_model()

    def _end_values(self):
        """The run's values when it ends."""
        values = {"as_of": False, "phase": False, "cursor": 0}
        if _of_today(self):
            # A back-test as of a past day is no run of today.
            values.update(last_run=self.started, changed_until=self.started)
        return values

    def _log(self, as_of, stats, finished=True):
        _logger.info(
            "Customer retention of %(company)s as of %(as_of)s%(state)s: "
            "%(customers)d customers in %(chunks)d step(s), %(written)d written, "
            "%(cleared)d cleared (ranks %(rank_s).2fs, outlook %(predict_s).2fs, "
            "analysis %(history_s).2fs, extract %(extract_s).2fs, "
            "engine %(engine_s).2fs, write %(write_s).2fs, longest step "
            "%(longest_chunk_s).2fs)",
            dict(
                stats,
                company=self.company_id.name,
                as_of=as_of,
                state="" if finished else " (run goes on in the next call)",
            ),
        )

    @contextlib.contextmanager
    def _locked(self, lock_wait, shared=False):
        """Hold the company's recompute lock (in ``shared`` mode: see
        retention_store.company_lock), or raise RetentionBusyError after
        ``lock_wait`` seconds."""
        company = self.company_id
        try:
            with retention_store.company_lock(
                self.env.cr, company.id, wait=lock_wait, shared=shared
            ):
                yield
        except retention_store.RecomputeBusy:
            raise retention_jobs.RetentionBusyError(
                self.env._(
                    "Customer retention of %(company)s is being recomputed right now: "
                    "try again in a few minutes.",
                    company=company.name,
                )
            ) from None

    # ------------------------------------------------------------
    # A recompute at once
    # ------------------------------------------------------------

    def _recompute(
        self, as_of=None, partner_ids=None, commit_batches=False, lock_wait=0.0
    ):
        """Recompute the company at once: all its customers, chunk by chunk
        after one pass that ranks them all, or only ``partner_ids``
        (commercial partners), ranked then against the stored revenue of the
        others in their groups. Never two at once for one company: the run
        waits up to ``lock_wait`` seconds for another one to end, then
        raises RetentionBusyError. ``commit_batches`` (scripts, outside
        tests) commits each chunk. The daily job does not call this: it
        works in bounded steps (``_step``)."""
        self.ensure_one()
        as_of = self.company_id._retention_as_of(as_of)
        commit = commit_batches and not retention_store.testing()
        with self._locked(lock_wait):
            return self._recompute_locked(as_of, partner_ids, commit)

    def _recompute_locked(self, as_of, partner_ids, commit):
        if partner_ids is not None:
            return self._recompute_partners(as_of, partner_ids)
        stats = dict(NOTHING_DONE)
        self._begin(as_of, commit, stats)
        while not self._chunk(commit, stats):
            pass
        self._log(as_of, stats)
        return stats

    def _recompute_partners(self, as_of, partner_ids):
        """Recompute ``partner_ids`` only, ranked against the stored revenue
        of the others in their groups."""
        stats = phases.recompute_partners(self, as_of, partner_ids, NOTHING_DONE)
        self.env["res.partner"].invalidate_model(RETENTION_FIELDS)
        self._log(as_of, stats)
        return stats

    def _recompute_changed(self, as_of=None, lock_wait=0.0):
        """Recompute only the customers whose orders changed since the last
        run (new, edited or cancelled orders); their ranks are taken against
        the stored revenue of the others, and the next full recompute makes
        every rank exact again. Without a full run yet, recompute everything."""
        self.ensure_one()
        if not self.last_run:
            return self._recompute(as_of, lock_wait=lock_wait)
        started = fields.Datetime.now().replace(microsecond=0)
        self.env.flush_all()
        since = self._changed_since()
        changed = retention_store.changed_customers(self.company_id, since)
        stats = dict(NOTHING_DONE)
        if changed:
            stats = self._recompute(as_of, partner_ids=changed, lock_wait=lock_wait)
        # sudo: the hourly job's own watermark
        self.sudo().changed_until = started
        return stats

    def _changed_since(self):
        """Since when the customers whose documents changed are still to
        be recomputed (the hourly job's watermark), or False: never."""
        self.ensure_one()
        return self.changed_until or self.last_run

    # ------------------------------------------------------------
    # The daily and hourly jobs (retention_jobs.call)
    # ------------------------------------------------------------

    def _request(self):
        """Hand a whole-company recompute to the daily job, which runs it in
        the background with committed batches and progress, instead of
        running it inside a web request."""
        # sudo: a request flag on the run and a trigger of the addon's own job
        self.sudo().requested = True
        self.env.ref(DAILY_JOB).sudo()._trigger()

    def _due(self, now):
        """Whether the daily job still has to work on this company today."""
        self.ensure_one()
        company = self.company_id
        return (
            self.requested
            or bool(self.as_of)
            or not self.last_attempt
            or company._retention_local_date(self.last_attempt)
            < company._retention_today(now)
        )

    @api.model
    def _queued(self):
        """Whether the nights run as queue_job jobs (retention_run_queue)."""
        return False

    @api.model
    def _cron_daily(self):
        """Daily job. Each call works on one company, those an administrator
        asked for first, whose run it begins or resumes, committed chunk by
        chunk, within what is left of the unit of work's budget
        (retention_jobs); with OCA's queue_job, it hands the run to
        queue_job's workers instead (retention_run_queue). An interrupted
        call keeps its committed chunks; the next one resumes. A company
        that fails is logged, marked with its error and skipped until
        tomorrow; the others go on. A company busy with another recompute
        is retried a few minutes later."""
        now = fields.Datetime.now()
        companies = self.env["res.company"].search([], order="id")
        runs = self._of(companies)
        queued = self._queued()
        if queued:
            # A night in queue_job's hands is the jobs' business (they end
            # it); one whose job failed for good is over until tomorrow.
            runs._drop_failed_nights(now)
            runs = runs.filtered(lambda run: not run._in_jobs())
        todo = runs.filtered(lambda run: run._due(now))
        todo = todo.sorted(lambda run: (not run.requested, not run.as_of))

        def work(run, budget):
            if queued:
                # queue_job's workers do the night (retention_run_queue).
                run._queue_night(now)
                return retention_jobs.Progress()
            finished = run._step(budget, lock_wait=retention_jobs.CRON_LOCK_WAIT)
            if not finished:
                return retention_jobs.Progress(remaining=1)
            run._night_ended(now)
            return retention_jobs.Progress()

        def failed(run, error):
            _logger.exception("Customer retention of %s failed", run.company_id.name)
            run.sudo().write(run._attempt_values(now, error))

        retention_jobs.call(self.env, DAILY_JOB, todo, work, failed)

    def _attempt_values(self, now, error=None):
        values = {
            "last_attempt": now,
            "last_error": error and f"{type(error).__name__}: {error}",
            "requested": False,
        }
        if error:
            # A run that failed is dropped, not resumed in a loop: tomorrow's
            # run starts again (a killed worker raises nothing and resumes).
            values.update(as_of=False, phase=False)
        return values

    def _night_ended(self, now):
        """The company's night ended (in the cron or the last queue job):
        the daily job is done with it today, its calls are planned next."""
        # sudo: the run's own bookkeeping
        self.sudo().write(self._attempt_values(now))
        self._plan_calls_after()

    def _plan_calls_after(self):
        """The company's nightly run ended: its calls are planned next."""
        if self.company_id.retention_call_plan_auto:
            # sudo: a trigger of the addon's own job
            cron = self.env.ref("customer_retention.ir_cron_retention_plan_calls")
            cron.sudo()._trigger()

    @api.model
    def _cron_hourly(self):
        """Hourly job: bring the customers whose orders changed since the
        last run up to date, one company per call (the full run itself is
        left to the daily job, also for companies never computed). A company
        busy with another recompute waits for the next hour; one that fails
        is logged and the others go on."""
        now = fields.Datetime.now()
        due = self.search(
            [
                ("last_run", "!=", False),
                # the run in progress brings them up to date
                ("as_of", "=", False),
                "|",
                ("changed_until", "=", False),
                ("changed_until", "<", now - HOURLY_SLACK),
            ],
            order="changed_until, id",
        )

        def work(run, budget):
            run._recompute_changed()
            return retention_jobs.Progress()

        def failed(run, error):
            _logger.exception(
                "Customer retention of %s: hourly update failed", run.company_id.name
            )
            run.sudo().changed_until = now

        retention_jobs.call(self.env, HOURLY_JOB, due, work, failed, busy_retry=None)
