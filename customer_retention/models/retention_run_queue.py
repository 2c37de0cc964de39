# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A company's night over OCA's queue_job, when it is installed (issue 24).

Without queue_job the daily job works through a company's run itself, one
bounded chunk after the other on one cron worker (retention_run). With it,
the daily job only begins the run and hands it to queue_job, detected like
Point of Sale (``"queue.job" in env``), whose job runner spreads the work
over every worker a shop runs:

- each phase of PHASES is a job (``_job_phase``);
- a phase over chunks of customers (compute, predict, history:
  retention_run_phases.Chunked) enqueues one job per chunk, which run side
  by side, and a job that ends the phase once every chunk is done
  (``_job_phase_end``, which depends on them: queue_job's ``group``);
- the job that ends a phase enqueues the next one, and the last one ends
  the run as the daily job would.

Every job works in the channel ``root.customer_retention`` (CHANNEL), so that
a shop caps it in its configuration (``[queue_job] channels =
root:4,root.customer_retention:2``); without a line of its own the channel
shares root's capacity. A chunk job holds the company's recompute lock in
shared mode, the others in exclusive mode: a recompute of chosen customers
waits for a chunk to end, and a job that finds the lock taken is retried a
minute later without counting a try. Each job carries the day and phase it
was made for: a job of a run that has moved on (restarted, dropped) does
nothing.

A job that fails for good (queue_job marks it failed) stops its night: the
daily job's next call records the error on the run, cancels the night's
waiting jobs and leaves the company until tomorrow, as it does for a run
that fails in the cron. The system parameter ``customer_retention.queue_job``
set to ``0`` keeps the nights in the cron with queue_job installed.
"""

import contextlib
import logging

from odoo import api, fields, models

from . import retention_jobs, retention_store
from .retention_run import NOTHING_DONE, PHASES
from .retention_run_phases import Chunked

_logger = logging.getLogger(__name__)

CHANNEL = "root.customer_retention"
PARAM = "customer_retention.queue_job"
# queue_job's states of a job that is still to run, or running
ACTIVE = ("wait_dependencies", "pending", "enqueued", "started")
# A job that finds the company's lock taken comes back this much later.
BUSY_RETRY_SECONDS = 60


class RetentionRunQueue(models.Model):
    _inherit = "retention.run"

    # ------------------------------------------------------------
    # Whether, and which jobs
    # ------------------------------------------------------------

    @api.model
    def _queued(self):
        """Whether the nights run as queue_job jobs: queue_job is installed
        and the system parameter does not keep them in the cron."""
        if "queue.job" not in self.env:
            return False
        # sudo: a system parameter, read for the daily job of any user
        value = self.env["ir.config_parameter"].sudo().get_param(PARAM, "1")
        return value.strip().lower() not in ("0", "false", "no", "")

    def _night_jobs(self, states, since=None):
        """This run's jobs in ``states`` (created since ``since``)."""
        self.ensure_one()
        domain = [
            ("model_name", "=", self._name),
            # repr(self) starts the job's task: "retention.run(7,)._job_..."
            ("func_string", "=like", f"{self._name}({self.id},).%"),
            ("state", "in", list(states)),
        ]
        if since:
            domain.append(("date_created", ">=", since))
        # sudo: the run's own jobs, whoever runs the daily job
        return self.env["queue.job"].sudo().search(domain)

    def _in_jobs(self):
        """Whether this run's night is in queue_job's hands right now."""
        return bool(self._night_jobs(ACTIVE))

    def _drop_failed_nights(self, now):
        """A night whose job failed for good is over: its error is recorded
        on the run, its jobs still waiting are cancelled, and the company is
        left until tomorrow, as for a run that fails in the cron."""
        for run in self.filtered("as_of"):
            failed = run._night_jobs(["failed"], since=run.started)
            if not failed:
                continue
            job = failed[0]
            error = RuntimeError(job.exc_message or job.exc_name or job.name)
            _logger.error(
                "Customer retention of %s failed in job %s: %s",
                run.company_id.name,
                job.uuid,
                error,
            )
            run._night_jobs(ACTIVE).button_cancelled()
            run.sudo().write(run._attempt_values(now, error))

    # ------------------------------------------------------------
    # The daily job hands the night over
    # ------------------------------------------------------------

    def _queue_night(self, now):
        """Begin today's run of this company (or take up the one in progress,
        whose jobs failed or were lost) and enqueue its current phase."""
        self.ensure_one()
        with self._locked(retention_jobs.CRON_LOCK_WAIT):
            day = self.company_id._retention_today(now)
            if self.as_of != day:
                self._begin(day, False, dict(NOTHING_DONE))
            self._enqueue_phase()

    def _delayable_step(self, what):
        return self.delayable(
            channel=CHANNEL,
            description=self.env._(
                "Customer retention of %(company)s: %(what)s",
                company=self.company_id.name,
                what=what,
            ),
        )

    def _phase_label(self, phase):
        return dict(self._fields["phase"]._description_selection(self.env))[phase]

    def _enqueue_phase(self):
        phase = self.phase
        as_of = fields.Date.to_string(self.as_of)
        self._delayable_step(self._phase_label(phase))._job_phase(as_of, phase).delay()

    def _stale(self, as_of, phase):
        """Whether a job made for ``phase`` of the night of ``as_of`` comes
        after its run moved on (dropped, restarted, another phase)."""
        return (
            fields.Date.to_string(self.as_of) != as_of
            or self.phase != phase
            or not self._queued()
        )

    @contextlib.contextmanager
    def _job_lock(self, shared=False):
        """The company's recompute lock for a job; taken elsewhere: the job
        is retried later, without counting a try."""
        # queue_job is installed when its jobs run
        from odoo.addons.queue_job.exception import RetryableJobError

        stack = contextlib.ExitStack()
        try:
            stack.enter_context(self._locked(0.0, shared=shared))
        except retention_jobs.RetentionBusyError as error:
            raise RetryableJobError(
                str(error), seconds=BUSY_RETRY_SECONDS, ignore_retry=True
            ) from None
        with stack:
            yield
        self._forget_written()

    # ------------------------------------------------------------
    # The jobs
    # ------------------------------------------------------------

    def _job_phase(self, as_of, phase):
        """queue_job: the phase ``phase`` of the night of ``as_of``; a phase
        over chunks enqueues its chunks' jobs and the job that ends it."""
        self.ensure_one()
        if self._stale(as_of, phase):
            return "stale: the run moved on"
        today = self.company_id._retention_today()
        if self.as_of != today:
            # Past midnight: the run starts again as today's, as in the cron.
            with self._job_lock():
                self._begin(today, False, dict(NOTHING_DONE))
            self._enqueue_phase()
            return f"started again as of {today}"
        step = PHASES[phase][0]
        if not isinstance(step, Chunked):
            stats = dict(NOTHING_DONE)
            with self._job_lock():
                values, done = step(self, stats)
                # sudo: the run's own bookkeeping
                self.sudo().write(values)
            assert done, f"{phase} is done in one step"
            return self._job_next()
        from odoo.addons.queue_job.delay import group

        if step.only_end(self):
            return self._job_phase_end(as_of, phase)
        with self._job_lock():
            if step.begin:
                step.begin(self, dict(NOTHING_DONE))
            chunks = step.chunks(self.company_id)
        label = self._phase_label(phase)
        jobs = [
            self._delayable_step(
                self.env._(
                    "%(phase)s, customers %(first)s to %(last)s",
                    phase=label,
                    first=after + 1,
                    last=last or "...",
                )
            )._job_chunk(as_of, phase, after, last)
            for after, last in chunks
        ]
        ending = self._delayable_step(label)._job_phase_end(as_of, phase)
        group(*jobs).on_done(ending).delay()
        return f"{len(jobs)} chunk job(s)"

    def _job_chunk(self, as_of, phase, after, last):
        """queue_job: one chunk of a phase over chunks, the customers with
        ids in (``after``, ``last``]; side by side with the phase's others."""
        self.ensure_one()
        if self._stale(as_of, phase):
            return "stale: the run moved on"
        stats = dict(NOTHING_DONE)
        with self._job_lock(shared=True):
            written = PHASES[phase][0].work(self, (after, last), stats)
        return f"{stats['customers']} customers, {written} written"

    def _job_phase_end(self, as_of, phase):
        """queue_job: every chunk of ``phase`` is done: end the phase and
        enqueue the next one."""
        self.ensure_one()
        if self._stale(as_of, phase):
            return "stale: the run moved on"
        step = PHASES[phase][0]
        if step.end:
            with self._job_lock():
                # sudo: the run's own bookkeeping
                self.sudo().write(step.end(self, dict(NOTHING_DONE)))
        return self._job_next()

    def _job_next(self):
        """The run's phase is done: enqueue the next phase, or end the run."""
        if not self._phase_done():
            self._enqueue_phase()
            return f"next: {self.phase}"
        # The chunks' jobs could not add up the run's count: counted once.
        written = retention_store.written_since(self.company_id, self.started)
        # sudo: the run's own bookkeeping
        self.sudo().written = written
        self._night_ended(fields.Datetime.now())
        _logger.info(
            "Customer retention of %s: the night's jobs ended, %d customers written",
            self.company_id.name,
            written,
        )
        return "night ended"
