# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields, sql_db
from odoo.tests import new_test_user, tagged

from odoo.addons.customer_retention.hooks import post_init_hook
from odoo.addons.customer_retention.models import retention_jobs, retention_store
from odoo.addons.customer_retention.models.retention_run import RetentionRun

from .common import RetentionCase


class Killed(BaseException):
    """Stands for a worker killed in the middle of a batch: no Python code
    of the job runs after it (not an Exception the job could catch)."""


@contextmanager
def lock_held_elsewhere(cr, company):
    """Another worker's recompute of ``company``: its lock, held from a
    connection of its own."""
    other = sql_db.db_connect(cr.dbname).cursor()
    try:
        other.execute(
            "SELECT pg_advisory_lock(%s, %s)",
            [retention_store._LOCK_NAMESPACE, company.id],
        )
        other.commit()
        yield
    finally:
        other.execute(
            "SELECT pg_advisory_unlock(%s, %s)",
            [retention_store._LOCK_NAMESPACE, company.id],
        )
        other.commit()
        other.close()


@tagged("post_install", "-at_install")
class TestCron(RetentionCase):
    """The daily job recomputes one company per call and reports progress;
    the cron runner commits after each call, so a crash loses only the
    company in progress and the next run finishes the rest."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref("customer_retention.ir_cron_retention_recompute")
        cls.hourly = cls.env.ref(
            "customer_retention.ir_cron_retention_recompute_changed"
        )
        cls.company_b = cls.env["res.company"].create({"name": "Branch B"})
        cls.env["retention.run"]._of(cls.env["res.company"].search([])).write(
            {"last_run": False, "last_attempt": False, "changed_until": False}
        )
        today = fields.Date.context_today(cls.env["res.partner"])
        cls.customer = cls._customer("Cron Customer")
        cls._order(cls.customer, today - timedelta(days=10), 100)
        cls._order(cls.customer, today - timedelta(days=40), 100, company=cls.company_b)

    def run_batch(self, cron=None):
        """One call as ir.cron._run_job makes it: a progress record in the
        context, then the server action."""
        cron, progress = (cron or self.cron)._add_progress()
        cron.ir_actions_server_id.with_context(ir_cron_progress_id=progress.id).run()
        return progress.done, progress.remaining

    def run_until_done(self, cron=None):
        """Calls as the server makes them: again while the job reports work
        remaining, or when it has triggered itself for a new unit of work."""
        cron = cron or self.cron
        triggers = self.env["ir.cron.trigger"].sudo()
        batches = []
        for _call in range(50):
            before = triggers.search([("cron_id", "=", cron.id)])
            batches.append(self.run_batch(cron))
            again = triggers.search(
                [
                    ("cron_id", "=", cron.id),
                    ("id", "not in", before.ids),
                    ("call_at", "<=", fields.Datetime.now()),
                ]
            )
            if not batches[-1][1] and not again:
                return batches
        raise AssertionError(f"{cron.name} never ends")

    def spy(self, method="_step"):
        return patch.object(
            RetentionRun,
            method,
            autospec=True,
            side_effect=getattr(RetentionRun, method),
        )

    def run_of(self, company):
        return company._retention_run()

    def test_cron_is_daily(self):
        self.assertEqual(
            (self.cron.interval_number, self.cron.interval_type), (1, "days")
        )
        self.assertEqual(self.cron.model_id.model, "res.company")
        self.assertTrue(self.cron.active)

    def test_first_run_starts_at_install_and_for_a_new_company(self):
        # Issue 24: the daily job's first call is not tomorrow at 02:00.
        cron = self.env.ref("customer_retention.ir_cron_retention_recompute")
        Trigger = self.env["ir.cron.trigger"]

        def triggers():
            return Trigger.search_count([("cron_id", "=", cron.id)])

        before = triggers()
        post_init_hook(self.env)
        self.assertEqual(triggers(), before + 1)
        new = self.env["res.company"].create({"name": "Third Shop"})
        self.assertEqual(triggers(), before + 2)
        # ... and the job has it due: it never had a run.
        self.assertTrue(new._retention_run()._due(fields.Datetime.now()))

    def test_the_list_says_how_far_the_first_run_has_got(self):
        # Issue 24: before the first run of a company has ended, the empty
        # Customer Retention list says so instead of "no customer yet".
        rep = new_test_user(
            self.env,
            "first_run_rep",
            groups="sales_team.group_sale_salesman",
            company_id=self.company.id,
            company_ids=[(6, 0, self.company.ids)],
        )
        action = self.env.ref("customer_retention.action_customer_retention")

        def shown_help():
            # As /web/action/load reads it: sudo, in the user's environment,
            # every field (the help is worded in the action's context).
            return action.with_user(rep).sudo().read()[0]["help"]

        self.assertIn("starts within minutes", shown_help())
        # One customer brought up to date by hand: the whole run has not
        # ended, the list counts what is done.
        self.company._retention_recompute(partner_ids=self.customer.ids)
        self.assertIn("is in progress: 1 of about", shown_help())
        # The same line above the rows of the list, for those who see the
        # values only: a user outside Sales learns no count.
        notice = self.env["res.partner"].with_user(rep).retention_first_run_notice()
        self.assertIn("is in progress: 1 of about", notice)
        outsider = new_test_user(
            self.env, "first_run_outsider", groups="base.group_user"
        )
        self.assertFalse(
            self.env["res.partner"].with_user(outsider).retention_first_run_notice()
        )
        self.run_until_done()
        self.assertNotIn("first computation", shown_help())
        self.assertIn("No customer with orders yet", shown_help())

    def test_interrupted_run_resumes(self):
        companies = self.env["res.company"].search([], order="id")
        # One company per call; the others remain.
        self.assertEqual(self.run_batch(), (1, len(companies) - 1))
        first = companies[0]
        self.assertTrue(self.run_of(first).last_run)

        with patch.object(RetentionRun, "_step", side_effect=Killed):
            with self.assertRaises(Killed), self.env.cr.savepoint():
                self.run_batch()
        # The finished company kept its values, the interrupted one has none yet.
        self.assertTrue(self.customer.with_company(first).retention_computed_at)
        self.assertFalse(self.customer.with_company(self.company_b).retention_status)

        with self.spy() as spy:
            batches = self.run_until_done()
        # Every remaining company exactly once, the first one not again.
        self.assertEqual(
            [call.args[0].company_id for call in spy.call_args_list],
            list(companies[1:]),
        )
        self.assertEqual(batches[-1], (1, 0))
        # Its only visit, 40 days ago, is its first: a new customer there.
        self.assertEqual(
            self.customer.with_company(self.company_b).retention_status, "new"
        )
        # A further run the same day has nothing left to do.
        self.assertEqual(self.run_batch(), (0, 0))

    def test_failing_company_is_logged_marked_and_skipped(self):
        # Branch B's recompute breaks (bad data, a bug): it is marked with its
        # error and the other companies are recomputed all the same.
        original = RetentionRun._step

        def broken_for_b(run, *args, **kwargs):
            if run.company_id == self.company_b:
                raise ZeroDivisionError("division by zero")
            return original(run, *args, **kwargs)

        companies = self.env["res.company"].search([])
        with (
            patch.object(
                RetentionRun,
                "_step",
                autospec=True,
                side_effect=broken_for_b,
            ),
            self.assertLogs(
                "odoo.addons.customer_retention.models.retention_run", "ERROR"
            ) as logs,
        ):
            batches = self.run_until_done()
        self.assertEqual(
            len(batches),
            len(companies),
            "one call per company, the failing one included",
        )
        self.assertIn("Branch B failed", logs.output[0])
        run_b = self.run_of(self.company_b)
        self.assertEqual(run_b.last_error, "ZeroDivisionError: division by zero")
        self.assertTrue(run_b.last_attempt)
        self.assertFalse(run_b.last_run)
        self.assertFalse(self.run_of(self.company).last_error)
        self.assertEqual(
            self.customer.with_company(self.company).retention_visit_count, 1
        )
        # Not retried in a loop the same day; an administrator's request does.
        self.assertEqual(self.run_batch(), (0, 0))
        self.company_b._retention_request_recompute()
        self.assertEqual(self.run_batch(), (1, 0))
        self.assertFalse(run_b.last_error)
        self.assertEqual(
            self.customer.with_company(self.company_b).retention_status, "new"
        )

    def test_one_run_a_night_in_every_time_zone(self):
        # The job runs at 02:00 UTC. In New York (UTC-5 in January) that is
        # 21:00 of the previous local day, in Sao Paulo (UTC-3) 23:00, in
        # Warsaw (UTC+1) 03:00, in Tokyo (UTC+9) 11:00 of the same day: each
        # company is recomputed exactly once every night, four nights running.
        others = self.env["res.company"].search([("id", "!=", self.company.id)])
        self.env["retention.run"]._of(others).last_attempt = datetime(2030, 1, 1)
        for tz in (
            "America/New_York",
            "America/Sao_Paulo",
            "Europe/Warsaw",
            "Asia/Tokyo",
        ):
            self.company.partner_id.tz = tz
            self.run_of(self.company).write({"last_run": False, "last_attempt": False})
            runs = []
            for night in range(4):
                with freeze_time(datetime(2026, 1, 5 + night, 2, 0)), self.spy() as spy:
                    self.run_until_done()
                    # the runner may come back the same night: nothing to do
                    self.run_until_done()
                runs.append(len(spy.call_args_list))
            self.assertEqual(runs, [1, 1, 1, 1], tz)

    def test_busy_company_is_retried_later(self):
        # Another worker holds Branch B's recompute: the job waits briefly,
        # leaves B for later without an error, and comes back in 5 minutes.
        others = self.env["res.company"].search([("id", "not in", self.company_b.ids)])
        self.env["retention.run"]._of(others).last_attempt = fields.Datetime.now()
        with (
            lock_held_elsewhere(self.env.cr, self.company_b),
            patch.object(retention_jobs, "CRON_LOCK_WAIT", 0),
        ):
            self.assertEqual(self.run_batch(), (0, 0))
        run_b = self.run_of(self.company_b)
        self.assertFalse(run_b.last_attempt)
        self.assertFalse(run_b.last_error)
        triggers = (
            self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", self.cron.id)])
        )
        self.assertTrue(
            triggers.filtered(lambda trigger: trigger.call_at > fields.Datetime.now())
        )
        self.assertEqual(self.run_batch(), (1, 0))
        self.assertTrue(run_b.last_run)

    def test_a_spent_unit_of_work_goes_on_in_a_new_one(self):
        # Odoo's runner calls a job again in the same unit of work while it
        # reports work remaining, and a multi-worker server kills a unit past
        # its limits (retention_jobs). Once the unit's budget is spent, the
        # job reports nothing more to it and triggers itself: the rest of the
        # run comes as a new unit of work, chunk by chunk.
        triggers = self.env["ir.cron.trigger"].sudo()
        with patch.object(retention_jobs, "CRON_BUDGET", 0):
            before = triggers.search([("cron_id", "=", self.cron.id)])
            self.assertEqual(self.run_batch(), (1, 0))
            self.assertTrue(self.run_of(self.company).as_of, "a run in progress")
            self.assertTrue(
                triggers.search(
                    [
                        ("cron_id", "=", self.cron.id),
                        ("id", "not in", before.ids),
                        ("call_at", "<=", fields.Datetime.now()),
                    ]
                )
            )
            batches = self.run_until_done()
        self.assertEqual({remaining for _done, remaining in batches}, {0})
        self.assertGreater(len(batches), len(self.env["res.company"].search([])))
        self.assertFalse(self.run_of(self.company).as_of)
        self.assertTrue(self.run_of(self.company).last_run)
        self.assertEqual(
            self.customer.with_company(self.company_b).retention_status, "new"
        )

    def test_settings_button_hands_the_recompute_to_the_cron(self):
        # The administrator's "Recompute now" returns at once; the job does
        # the work in the background, this company first.
        self.run_until_done()
        today = fields.Date.context_today(self.env["res.partner"])
        self._order(self.customer, today - timedelta(days=1), 50)
        admin = new_test_user(
            self.env,
            "retention_settings_admin",
            groups="base.group_system,sales_team.group_sale_manager",
        )
        settings = self.env["res.config.settings"].with_user(admin).create({})
        with self.spy() as spy:
            action = settings.action_retention_recompute()
        self.assertFalse(spy.called, "nothing is recomputed inside the request")
        self.assertEqual(action["params"]["type"], "success")
        self.assertTrue(self.run_of(self.company).requested)
        self.assertEqual(
            self.customer.with_company(self.company).retention_visit_count, 1
        )
        self.assertTrue(
            self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", self.cron.id)])
        )
        with self.spy() as spy:
            self.assertEqual(self.run_batch(), (1, 0))
        self.assertEqual(spy.call_args_list[0].args[0].company_id, self.company)
        self.assertFalse(self.run_of(self.company).requested)
        self.assertEqual(
            self.customer.with_company(self.company).retention_visit_count, 2
        )

    # ------------------------------------------------------------
    # Hourly job
    # ------------------------------------------------------------

    def _date_orders(self, night, changed, overlap=timedelta(minutes=30)):
        """Fixed clocks: the night's run started at ``night``; ``changed``
        orders were written ``overlap`` before it (their transaction began
        then and committed after the run's extract), all others two hours
        before it. One test is one transaction, which stamps every write
        with its start: set the stamps explicitly."""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE retention_run SET last_run = %s, changed_until = %s",
            [night, night],
        )
        self.env.cr.execute(
            "UPDATE sale_order SET write_date = %s", [night - timedelta(hours=2)]
        )
        self.env.cr.execute(
            "UPDATE sale_order SET write_date = %s WHERE id = ANY(%s)",
            [night - overlap, changed.ids],
        )
        self.env.invalidate_all()

    def test_hourly_changed_customers(self):
        # After the nightly run, a new order: the hourly job updates that
        # customer only; companies never computed wait for the night.
        self.run_until_done()
        self.assertEqual(
            self.customer.with_company(self.company).retention_visit_count, 1
        )
        today = fields.Date.context_today(self.env["res.partner"])
        other = self._customer("Not Changed")
        new_order = self._order(self.customer, today - timedelta(days=5), 100)
        night = fields.Datetime.now().replace(microsecond=0) - timedelta(hours=1)
        self._date_orders(night, new_order, overlap=-timedelta(minutes=30))
        self.run_of(self.company_b).last_run = False
        computed = self.env["retention.run"].search([("last_run", "!=", False)])
        with self.spy("_recompute") as recompute:
            batches = self.run_until_done(self.hourly)
        self.assertEqual(
            len(batches), len(computed), "one call per company already computed"
        )
        self.assertEqual(
            self.customer.with_company(self.company).retention_visit_count, 2
        )
        self.assertFalse(other.with_company(self.company).retention_status)
        scopes = {
            call.args[0].company_id.id: call.kwargs.get("partner_ids")
            for call in recompute.call_args_list
        }
        self.assertEqual(
            set(scopes), {self.company.id}, "Branch B has no run yet: left to the night"
        )
        self.assertEqual(list(scopes[self.company.id]), [self.customer.id])
        self.assertGreaterEqual(self.run_of(self.company).changed_until, night)
        # Just updated: not due again within the half hour.
        self.assertEqual(self.run_batch(self.hourly), (0, 0))

    def test_hourly_sees_an_order_committed_after_the_extract(self):
        # An order whose transaction began 30 minutes before the night's run
        # and committed after its extract carries an older write_date than
        # the run: the hourly job still finds it.
        self.run_until_done()
        today = fields.Date.context_today(self.env["res.partner"])
        late_order = self._order(self.customer, today - timedelta(days=3), 70)
        night = fields.Datetime.now().replace(microsecond=0) - timedelta(hours=1)
        self._date_orders(night, late_order)
        self.run_until_done(self.hourly)
        self.assertEqual(
            self.customer.with_company(self.company).retention_visit_count, 2
        )

    def _night_then_an_order_in_each_company(self):
        """The night's run, then one order of the customer in each company,
        written half an hour after it; returns when the night's run started."""
        self.run_until_done()
        today = fields.Date.context_today(self.env["res.partner"])
        orders = self._order(self.customer, today - timedelta(days=2), 10)
        orders |= self._order(
            self.customer, today - timedelta(days=2), 10, company=self.company_b
        )
        night = fields.Datetime.now().replace(microsecond=0) - timedelta(hours=1)
        self._date_orders(night, orders, overlap=-timedelta(minutes=30))
        return night

    def test_hourly_one_company_per_call(self):
        # Both companies have a change: two calls, each committed by the runner.
        self._night_then_an_order_in_each_company()
        companies = self.env["res.company"].search([])
        with self.spy("_recompute") as recompute:
            batches = self.run_until_done(self.hourly)
        self.assertEqual(batches[0], (1, len(companies) - 1))
        self.assertEqual(batches[-1][1], 0)
        recomputed = [call.args[0].company_id.id for call in recompute.call_args_list]
        self.assertEqual(
            sorted(recomputed), sorted((self.company | self.company_b).ids)
        )
        self.assertEqual(
            self.customer.with_company(self.company_b).retention_visit_count, 2
        )

    def test_change_indexes(self):
        self.env.cr.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE %s",
            ["%retention_company_write_date_idx"],
        )
        self.assertEqual(len(self.env.cr.fetchall()), 2)

    def test_hourly_failure_of_one_company_lets_the_others_go_on(self):
        # Branch B's hourly update breaks: it is logged and left until the
        # next hour; the main company is brought up to date all the same.
        night = self._night_then_an_order_in_each_company()
        original = RetentionRun._recompute_changed

        def broken_for_b(run, *args, **kwargs):
            if run.company_id == self.company_b:
                raise ZeroDivisionError("bad data")
            return original(run, *args, **kwargs)

        with (
            patch.object(
                RetentionRun,
                "_recompute_changed",
                autospec=True,
                side_effect=broken_for_b,
            ),
            self.assertLogs(
                "odoo.addons.customer_retention.models.retention_run", "ERROR"
            ),
        ):
            self.run_until_done(self.hourly)
        self.assertEqual(
            self.customer.with_company(self.company).retention_visit_count, 2
        )
        self.assertEqual(
            self.customer.with_company(self.company_b).retention_visit_count, 1
        )
        self.assertGreater(self.run_of(self.company_b).changed_until, night)
