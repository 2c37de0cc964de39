# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from odoo.addons.customer_retention.models.res_partner import ResPartner

from .common import RetentionCase


class Interrupted(Exception):
    """Stands for a worker killed in the middle of a batch."""


@tagged("post_install", "-at_install")
class TestCron(RetentionCase):
    """The daily job recomputes one company per batch and reports progress;
    the cron runner commits after each batch, so a crash loses only the batch
    in progress and the next run finishes the rest."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref("customer_retention.ir_cron_retention_recompute")
        cls.company_b = cls.env["res.company"].create({"name": "Branch B"})
        (cls.env["res.company"].search([])).retention_last_run = False
        today = fields.Date.context_today(cls.env["res.partner"])
        cls.customer = cls._customer("Cron Customer")
        cls._order(cls.customer, today - timedelta(days=10), 100)
        cls._order(cls.customer, today - timedelta(days=40), 100, company=cls.company_b)

    def run_batch(self):
        """One batch as ir.cron._run_job runs it: a progress record in the
        context, then the server action."""
        cron, progress = self.cron._add_progress()
        cron.ir_actions_server_id.with_context(ir_cron_progress_id=progress.id).run()
        return progress.done, progress.remaining

    def test_cron_is_daily(self):
        self.assertEqual((self.cron.interval_number, self.cron.interval_type), (1, "days"))
        self.assertTrue(self.cron.active)

    def test_interrupted_run_resumes(self):
        companies = self.env["res.company"].search([], order="id")
        self.assertEqual(self.run_batch(), (1, len(companies) - 1))
        first = companies[0]
        self.assertTrue(first.retention_last_run)

        original = ResPartner._retention_recompute_company
        with patch.object(ResPartner, "_retention_recompute_company", side_effect=Interrupted):
            # safe_eval, which runs the cron's code, re-raises as ValueError.
            with self.assertRaisesRegex(ValueError, "Interrupted"), self.env.cr.savepoint():
                self.run_batch()
        # The finished company kept its values, the interrupted one has none yet.
        self.assertTrue(self.customer.with_company(first).retention_computed_at)
        self.assertFalse(self.customer.with_company(self.company_b).retention_status)

        with patch.object(ResPartner, "_retention_recompute_company", autospec=True, side_effect=original) as spy:
            done = []
            while True:
                batch = self.run_batch()
                done.append(batch)
                if not batch[1]:
                    break
        # Every remaining company exactly once, the first one not again.
        recomputed = [call.args[1] for call in spy.call_args_list]
        self.assertEqual(recomputed, list(companies[1:]))
        self.assertEqual(done[-1], (1, 0))
        # Its only visit, 40 days ago, is its first: a new customer there.
        self.assertEqual(self.customer.with_company(self.company_b).retention_status, "new")
        # A further run the same day has nothing left to do.
        self.assertEqual(self.run_batch(), (0, 0))

    def test_hourly_changed_customers(self):
        # After the nightly run, a new order: the hourly job updates that
        # customer only; companies never computed wait for the night.
        self.run_batch()
        self.run_batch()
        self.assertEqual(self.customer.with_company(self.company).retention_order_count, 1)
        today = fields.Date.context_today(self.env["res.partner"])
        other = self._customer("Not Changed")
        self._order(self.customer, today - timedelta(days=5), 100)
        hourly = self.env.ref("customer_retention.ir_cron_retention_recompute_changed")
        cron, progress = hourly._add_progress()
        # Fixed clocks: the night ran at 02:00; only the new order was
        # written after it (everything else in this test transaction shares
        # one timestamp, so set them explicitly).
        new_order = self.env["sale.order"].search(
            [("partner_id", "=", self.customer.id)], order="id desc", limit=1
        )
        self.env.flush_all()
        night = fields.Datetime.now().replace(hour=2, minute=0, second=0, microsecond=0)
        self.env.cr.execute("UPDATE res_company SET retention_last_run = %s", [night])
        self.env.cr.execute("UPDATE sale_order SET write_date = %s", [night - timedelta(hours=1)])
        self.env.cr.execute("UPDATE sale_order SET write_date = %s WHERE id = %s",
                            [night + timedelta(minutes=30), new_order.id])
        self.env.invalidate_all()
        with patch.object(ResPartner, "_retention_recompute_company", autospec=True,
                          side_effect=ResPartner._retention_recompute_company) as recompute:
            cron.ir_actions_server_id.with_context(ir_cron_progress_id=progress.id).run()
        self.assertEqual(self.customer.with_company(self.company).retention_order_count, 2)
        self.assertFalse(other.with_company(self.company).retention_status)
        scopes = {call.args[1].id: call.kwargs.get("partner_ids") for call in recompute.call_args_list}
        self.assertEqual(set(scopes), {self.company.id}, "Branch B had no change: not recomputed")
        self.assertEqual(list(scopes[self.company.id]), [self.customer.id])
        self.assertEqual((progress.done, progress.remaining), (2, 0))

    def test_change_indexes(self):
        self.env.cr.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE %s", ["%retention_company_write_date_idx"]
        )
        self.assertEqual(len(self.env.cr.fetchall()), 2)
