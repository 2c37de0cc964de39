# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import time as time_module
from datetime import datetime, time, timedelta
from types import SimpleNamespace
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.customer_retention.models import retention_run, retention_store
from odoo.addons.customer_retention.models.retention_run import NOTHING_DONE

from .common import AS_OF, RetentionCase
from .test_cron import Killed


@tagged("post_install", "-at_install")
class TestChunkedRun(RetentionCase):
    """The whole-company run in bounded chunks: each chunk is committed with
    the run's position, an interrupted run resumes at the next chunk, and a
    second night writes only the customers whose values changed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Europe/Warsaw"
        cls.env["res.company"].create({"name": "Second Shop"})
        day = AS_OF

        def visits(partner, *days_ago):
            for days in days_ago:
                cls._order(partner, day - timedelta(days=days), 100)

        # Every 30 days, last visit 45 days ago: at risk after 1.5 x 30 = 45
        # days, so still active today and at risk tomorrow.
        cls.tipping = cls._customer("Tipping Point")
        visits(cls.tipping, 135, 105, 75, 45)
        # Every 30 days, last visit 10 days ago: active today and tomorrow.
        cls.steady = cls._customer("Steady")
        visits(cls.steady, 100, 70, 40, 10)
        # One visit 500 days ago: lost, today and tomorrow.
        cls.gone = cls._customer("Gone")
        visits(cls.gone, 500)
        # First visit 20 days ago: new, today and tomorrow; its driver's
        # order counts for the company.
        cls.fleet = cls._customer("Fleet", is_company=True)
        driver = cls._customer("Fleet Driver", parent_id=cls.fleet.id)
        cls._order(driver, day - timedelta(days=20), 100)
        cls.customers = cls.tipping | cls.steady | cls.gone | cls.fleet
        cls.company_run = cls.company._retention_run()

    def step(self, as_of=AS_OF):
        """One call of the daily job on the company, in its own transaction
        (a savepoint here): one chunk per call (no time budget)."""
        with self.env.cr.savepoint():
            return self.company._retention_run_step(0, as_of=as_of)

    def run_night(self, as_of=AS_OF):
        """The daily job's calls until the run ends; its figures."""
        stats = dict(NOTHING_DONE)
        while True:
            with self.env.cr.savepoint():
                if self.company._retention_run_step(3600, stats=stats, as_of=as_of):
                    return stats

    def test_an_interrupted_run_resumes_at_the_next_chunk(self):
        chunk_of_one = patch.object(retention_store, "CHUNK_CUSTOMERS", 1)
        with chunk_of_one:
            # The chunks up to Steady's, one per call.
            while (self.company_run.phase, self.company_run.cursor) != (
                "compute",
                self.steady.id,
            ):
                self.assertFalse(self.step())
            self.assertEqual(self.company_run.as_of, AS_OF)
            self.assertRetention(self.tipping, status="active")
            self.assertRetention(self.steady, status="active")
            self.assertFalse(self.gone.with_company(self.company).retention_status)
            # The worker dies in the middle of the next chunk (Gone's).
            with (
                patch.object(retention_store, "write_metrics", side_effect=Killed),
                self.assertRaises(Killed),
            ):
                self.step()
            self.assertEqual(self.company_run.cursor, self.steady.id)
            self.assertFalse(self.gone.with_company(self.company).retention_status)
            # The next call resumes with Gone's chunk, not at the start.
            chunks = []
            original = retention_store.extract_transactions

            def spy(company, as_of, **kwargs):
                # (Retention Analysis reads the chunks again in its own phase.)
                if self.company_run.phase == "compute":
                    chunks.append(kwargs.get("chunk"))
                return original(company, as_of, **kwargs)

            with patch.object(retention_store, "extract_transactions", spy):
                while not self.step():
                    pass
        self.assertEqual(chunks[0], (self.steady.id, self.gone.id))
        self.assertTrue(all(chunk[0] >= self.steady.id for chunk in chunks))
        self.assertRetention(self.gone, status="lost")
        self.assertRetention(self.fleet, status="new", visit_count=1)
        self.assertFalse(self.company_run.as_of)
        self.assertEqual(self.company_run.last_run.date(), AS_OF)

    def test_ranks_are_written_a_chunk_at_a_time(self):
        # Everybody's rank changes on the first night: one call ranks them
        # all and writes the first chunk, the next calls one chunk each, so
        # that no call writes a million rows (half a minute at L).
        def ranked():
            self.env.cr.execute(
                "SELECT partner_id FROM retention_partner_state"
                " WHERE company_id = %s AND group_top_pct IS NOT NULL",
                [self.company.id],
            )
            return {row[0] for row in self.env.cr.fetchall()}

        def staged():
            self.env.cr.execute(
                "SELECT to_regclass(%s) IS NOT NULL",
                [f"retention_rank_stage_{self.company.id}"],
            )
            return self.env.cr.fetchone()[0]

        ids = sorted(self.customers.ids)
        with patch.object(retention_store, "CHUNK_CUSTOMERS", 1):
            while self.company_run.phase != "rank":
                self.assertFalse(self.step())
            self.assertFalse(ranked())
            seen = []
            while self.company_run.phase == "rank":
                self.step()
                seen.append(ranked())
                if self.company_run.phase == "rank":
                    self.assertTrue(staged())
        # One more customer ranked a call (the chunks count every commercial
        # partner, so a chunk may hold none of the customers).
        self.assertEqual(seen[-1], set(ids))
        for before, after in zip(seen, seen[1:], strict=False):
            self.assertLessEqual(len(after - before), 1)
            self.assertLessEqual(before, after)
        self.assertGreater(len(seen), len(ids))
        self.assertFalse(staged())
        self.run_night()
        # Tipping Point and Steady spent 400 in the two-year look-back window,
        # Gone and Fleet 100: first of four, the top 25 %, and third of four.
        for partner in self.tipping | self.steady:
            self.assertRetention(partner, group_tier="top25", group_top_pct=25.0)
        for partner in self.gone | self.fleet:
            self.assertRetention(partner, group_tier="below", group_top_pct=75.0)

    def test_a_call_ends_at_a_new_phase_once_a_quarter_is_spent(self):
        # Each step takes 3 s of a 20 s budget: fitting (3 s), then all the
        # values in one chunk (6 s spent); the ranks' first chunk may take far
        # longer than the values' did, so the call ends there.
        clock = {"now": 0.0}
        chunk = retention_run.RetentionRun._chunk

        def timed_chunk(run, commit, stats):
            clock["now"] += 3.0
            return chunk(run, commit, stats)

        fake_time = SimpleNamespace(
            monotonic=lambda: clock["now"], perf_counter=time_module.perf_counter
        )
        with (
            patch.object(retention_run, "time", fake_time),
            patch.object(retention_run.RetentionRun, "_chunk", timed_chunk),
        ):
            with self.env.cr.savepoint():
                self.assertFalse(self.company._retention_run_step(20, as_of=AS_OF))
            self.assertEqual(clock["now"], 6.0)
            self.assertEqual(
                (self.company_run.phase, self.company_run.cursor), ("rank", 0)
            )
            # A budget of 40: a quarter is 10 s, so the ranks (3 s) go on.
            with self.env.cr.savepoint():
                self.company._retention_run_step(40, as_of=AS_OF)
            self.assertGreater(clock["now"], 12.0)

    def test_a_run_that_fails_is_dropped_until_tomorrow(self):
        # Bad data breaks the second chunk: the daily job marks the error and
        # drops the run, instead of resuming it in a loop all day.
        with patch.object(retention_store, "CHUNK_CUSTOMERS", 1):
            self.step()
        self.assertEqual(self.company_run.as_of, AS_OF)
        with (
            patch.object(
                retention_store, "write_metrics", side_effect=ZeroDivisionError("bad")
            ),
            self.assertLogs(
                "odoo.addons.customer_retention.models.retention_run", "ERROR"
            ),
        ):
            self.env["res.company"]._cron_retention_recompute()
        self.assertFalse(self.company_run.as_of)
        self.assertEqual(self.company_run.last_error, "ZeroDivisionError: bad")
        self.assertFalse(self.company_run._due(datetime.now()))

    def test_a_run_left_over_from_yesterday_starts_again(self):
        with patch.object(retention_store, "CHUNK_CUSTOMERS", 1):
            self.step(AS_OF - timedelta(days=1))
        self.assertEqual(self.company_run.as_of, AS_OF - timedelta(days=1))
        self.run_night()
        self.assertEqual(self.company_run.as_of, False)
        self.assertEqual(self.company_run.last_run.date(), AS_OF)
        self.assertRetention(self.tipping, status="active", days_since_last=45)

    def test_the_second_night_writes_only_what_changed(self):
        first = self.run_night()
        self.assertEqual(first["written"], len(self.customers))
        self.assertEqual(self.company_run.written, len(self.customers))
        changed_at = {partner: self._changed_at(partner) for partner in self.customers}
        # The next day, nothing new: only Tipping Point tips over (46 > 45).
        with self._clock(AS_OF + timedelta(days=1)):
            second = self.run_night(AS_OF + timedelta(days=1))
            self.assertEqual(second["written"], 1)
            self.assertEqual(self.company_run.written, 1)
            self.assertRetention(
                self.tipping, status="at_risk", alert="at_risk", days_since_last=46
            )
            # The others were not written, yet read as of today.
            for partner in self.steady | self.gone | self.fleet:
                self.assertEqual(self._changed_at(partner), changed_at[partner])
            self.assertRetention(self.steady, status="active", days_since_last=11)
            self.assertRetention(self.gone, status="lost", days_since_last=501)
            self.assertIn(
                "Last order 46 days ago",
                self.tipping.with_company(self.company).retention_reason,
            )

    def _changed_at(self, partner):
        self.env.cr.execute(
            "SELECT changed_at FROM retention_partner_state"
            " WHERE company_id = %s AND partner_id = %s",
            [self.company.id, partner.id],
        )
        return self.env.cr.fetchone()[0]

    def _clock(self, day):
        """The clock at noon (UTC) of ``day``, values read afresh."""
        self.env.invalidate_all()
        return freeze_time(datetime.combine(day, time(12, 0)))
