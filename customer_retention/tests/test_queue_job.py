# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The night as OCA queue_job jobs (retention_run_queue). The test runner's
second pass installs queue_job (tests/run.py); without it these tests skip
and the first pass proves that the cron does the nights alone."""

import random
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.customer_retention.models import (
    retention_run_phases as phases,
)
from odoo.addons.customer_retention.models import (
    retention_store,
)
from odoo.addons.customer_retention.models.retention_run_queue import (
    CHANNEL,
    PARAM,
)

from . import test_incremental_property as prop
from .common import AS_OF, RetentionCase
from .test_cron import lock_held_elsewhere

NIGHT = datetime.combine(AS_OF + timedelta(days=1), prop.NIGHT)


def _skip_without_queue_job(case):
    if "queue.job" not in case.env:
        case.skipTest("not installed here: queue.job (second pass)")


def perform_stored_jobs(env, rng=None, count=None):
    """Run the night's stored jobs as queue_job's runner does (started,
    performed, done, then the jobs that waited for it made pending), until
    none is pending (or ``count`` of them); with ``rng``, in a random order
    among those pending, as several workers may end them. Returns the
    (method, channel) of the jobs run, in order."""
    from odoo.addons.queue_job.job import Job

    methods = []
    for _index in range(count or 1000):
        pending = env["queue.job"].search(
            [("model_name", "=", "retention.run"), ("state", "=", "pending")],
            order="id",
        )
        if not pending:
            return methods
        record = rng.choice(pending) if rng else pending[0]
        job = Job.load(env, record.uuid)
        job.set_started()
        job.perform()
        job.set_done()
        job.store()
        env.flush_all()  # the controller's flush: the next query is SQL
        job.enqueue_waiting()
        methods.append((job.method_name, job.channel))
    if count:
        return methods
    raise AssertionError("the night's jobs never end")


@tagged("post_install", "-at_install")
class TestNightsAsJobs(prop.TestIncrementalProperty):
    """The property test's random histories, their nights done by queue_job
    jobs instead of the cron: chunks of 4 customers (3 for Retention
    Analysis), the jobs pending performed in a random order, as the job
    runner's workers may end them side by side. The recompute from scratch
    of the final day runs in the cron: both give the same tables."""

    def setUp(self):
        super().setUp()
        _skip_without_queue_job(self)
        self.enterContext(patch.object(retention_store, "CHUNK_CUSTOMERS", 4))
        self.enterContext(patch.object(retention_store, "CHUNK_HISTORY", 3))
        self.env["ir.config_parameter"].set_param(PARAM, "1")
        self.jobs_run = []

    def _after_call(self, xmlid):
        """The jobs the daily job enqueued, and those they enqueue."""
        rng = random.Random(len(self.jobs_run))
        run = perform_stored_jobs(self.env, rng)

        self.assertEqual({channel for _method, channel in run} - {CHANNEL}, set())
        self.jobs_run += [method for method, _channel in run]

    def _from_scratch(self, final):
        self.assertIn("_job_chunk", self.jobs_run, "the nights ran as jobs")
        self.env["ir.config_parameter"].set_param(PARAM, "0")
        jobs_before = len(self.jobs_run)
        full = super()._from_scratch(final)
        self.assertEqual(len(self.jobs_run), jobs_before, "the cron ran it")
        return full


# Three histories and the larger one (its outlook fitted) in this pass: the
# first pass tries every seed in the cron.
for _name in dir(TestNightsAsJobs):
    if _name.startswith("test_seed_") and _name not in (
        "test_seed_0",
        "test_seed_1",
        "test_seed_2",
    ):
        setattr(TestNightsAsJobs, _name, None)


@tagged("post_install", "-at_install")
class TestQueuedNight(RetentionCase):
    """The daily job hands a company's night to queue_job: stored jobs in
    the addon's channel, run as the job runner runs them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Europe/Warsaw"
        cls.customers = [cls._customer(f"Queued {index}") for index in range(5)]
        for index, partner in enumerate(cls.customers):
            for visit in range(index + 1):
                cls._order(partner, AS_OF - timedelta(days=20 + 30 * visit), 100)
        cls.company_run = cls.env["retention.run"]._of(cls.company)

    def setUp(self):
        super().setUp()
        _skip_without_queue_job(self)
        self.env["ir.config_parameter"].set_param(PARAM, "1")
        self.enterContext(patch.object(retention_store, "CHUNK_CUSTOMERS", 2))
        self.enterContext(patch.object(retention_store, "CHUNK_HISTORY", 2))
        self.enterContext(freeze_time(NIGHT))

    def daily_call(self):
        self.env["retention.run"]._cron_daily()

    def jobs(self, states=("pending", "wait_dependencies")):
        return self.env["queue.job"].search(
            [("model_name", "=", "retention.run"), ("state", "in", list(states))],
            order="id",
        )

    def perform_pending(self, count=None):
        return [
            method for method, _channel in perform_stored_jobs(self.env, count=count)
        ]

    def test_the_night_runs_as_jobs_and_matches_the_cron(self):
        self.daily_call()
        first = self.jobs()
        self.assertEqual(first.mapped("method_name"), ["_job_phase"])
        self.assertEqual(first.channel, CHANNEL)
        self.assertEqual(self.company_run.phase, "fit")
        # The night is the jobs' business: a second call enqueues nothing.
        self.daily_call()
        self.assertEqual(self.jobs(), first)
        methods = self.perform_pending()
        # the first night: compute, rank, predict and history, each in chunks
        chunks = phases.compute.chunks(self.company)
        self.assertGreater(len(chunks), 2)
        self.assertEqual(methods.count("_job_chunk"), 4 * len(chunks), methods)
        self.assertFalse(self.company_run.as_of)
        self.assertEqual(self.company_run.last_run, NIGHT)
        self.assertEqual(self.company_run.written, 5)
        self.assertFalse(self.company_run._due(NIGHT))
        by_jobs = self._values()
        self.assertEqual(len(by_jobs), 5)
        # The same night in the cron gives the same values.
        self.env["ir.config_parameter"].set_param(PARAM, "0")
        self.env.cr.execute(
            "DELETE FROM retention_partner_state WHERE company_id = %s",
            [self.company.id],
        )
        self.company_run.write({"last_attempt": False, "last_run": False})
        for _call in range(30):
            self.daily_call()
            if not self.company_run.as_of:
                break
        self.assertFalse(self.jobs())
        self.assertEqual(self._values(), by_jobs)

    def _values(self):
        self.env.flush_all()
        columns = [name for name, _type in retention_store.STATE_COLUMNS]
        self.env.cr.execute(
            f"SELECT partner_id, {', '.join(columns)} FROM retention_partner_state"  # noqa: S608 (fixed names)
            " WHERE company_id = %s ORDER BY partner_id",
            [self.company.id],
        )
        return self.env.cr.fetchall()

    def test_a_failed_job_ends_the_night_until_tomorrow(self):
        self.daily_call()
        self.perform_pending(count=1)  # fit
        self.perform_pending(count=1)  # compute: its chunks are pending
        chunk = self.jobs(("pending",))[:1]
        chunk.write(
            {"state": "failed", "exc_name": "ZeroDivisionError", "exc_message": "bad"}
        )
        with self.assertLogs(
            "odoo.addons.customer_retention.models.retention_run_queue", "ERROR"
        ):
            self.daily_call()
        self.assertFalse(self.company_run.as_of)
        self.assertEqual(self.company_run.last_error, "RuntimeError: bad")
        self.assertFalse(self.jobs(), "the night's other jobs are cancelled")
        self.assertFalse(self.company_run._due(NIGHT))

    def test_a_busy_company_retries_the_job_later(self):
        from odoo.addons.queue_job.exception import RetryableJobError
        from odoo.addons.queue_job.job import Job

        self.daily_call()
        job = Job.load(self.env, self.jobs().uuid)
        with (
            lock_held_elsewhere(self.env.cr, self.company),
            self.assertRaises(RetryableJobError) as caught,
        ):
            job.perform()
        self.assertTrue(caught.exception.ignore_retry)
        self.assertEqual(self.company_run.phase, "fit", "nothing was done")

    def test_a_job_of_a_run_that_moved_on_does_nothing(self):
        self.daily_call()
        self.assertEqual(
            self.company_run._job_chunk("2000-01-01", "compute", 0, None),
            "stale: the run moved on",
        )
        self.assertEqual(
            self.company_run._job_phase(str(self.company_run.as_of), "history"),
            "stale: the run moved on",
        )

    def test_the_parameter_keeps_the_night_in_the_cron(self):
        self.env["ir.config_parameter"].set_param(PARAM, "0")
        for _call in range(30):
            self.daily_call()
            if not self.company_run.as_of:
                break
        self.assertFalse(self.jobs(("pending", "wait_dependencies", "done")))
        self.assertEqual(self.company_run.last_run, NIGHT)
        self.assertEqual(len(self._values()), 5)
