# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Point-of-sale orders as a source, with point_of_sale installed; skipped
without it (this addon does not depend on it: ``python3 -m tests.run``
runs this file a second time on a database with point_of_sale)."""

from datetime import date, datetime, time
from unittest import SkipTest

from freezegun import freeze_time

from odoo import Command
from odoo.modules.registry import Registry
from odoo.tests import tagged
from odoo.tests.common import get_db_name
from odoo.tools.sql import index_exists

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from ..models import retention_history, retention_store
from .common import AS_OF


@tagged("post_install", "-at_install")
class TestPointOfSaleSource(AccountTestInvoicingCommon):
    """Ann buys at the till of a shop in New York. Paid, posted and invoiced
    orders are visits on their local day; a refund lowers revenue; drafts,
    cancelled orders, the walk-in customer and orders without a customer
    count for nothing."""

    @classmethod
    def setUpClass(cls):
        if "pos.order" not in Registry(get_db_name()):
            raise SkipTest("point_of_sale is not installed in this database")
        cls.startClassPatcher(freeze_time(datetime.combine(AS_OF, time(12, 0))))
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        # New York: UTC-4 in summer.
        cls.company.partner_id.tz = "America/New_York"
        cls.company.retention_include_pos = True
        cls.ann = cls.env["res.partner"].create({"name": "Ann"})
        cls.ann_buyer = cls.env["res.partner"].create(
            {"name": "Ann's buyer", "parent_id": cls.ann.id}
        )
        cls.bob = cls.env["res.partner"].create({"name": "Bob"})
        cls.retail = cls.env["res.partner"].create({"name": "Retail"})
        cls.company.retention_walk_in_id = cls.retail
        cls.category = cls.env["product.category"].create({"name": "Coffee"})
        cls.coffee = cls.env["product.product"].create(
            {
                "name": "Coffee beans",
                "type": "consu",
                "categ_id": cls.category.id,
                "taxes_id": [Command.clear()],
            }
        )
        cls._till()

        # Session 1, closed: its orders are posted (done).
        # O1: Ann, 05-01 14:00 UTC (10:00 local), 100.
        cls.config.open_ui()
        cls.o1 = cls._paid(cls.ann, datetime(2025, 5, 1, 14, 0), 100)
        session = cls.config.current_session_id
        session.post_closing_cash_details(sum(session.order_ids.mapped("amount_paid")))
        session.close_session_from_ui()

        # Session 2, still open.
        cls.config.open_ui()
        # O2: Ann's buyer, 06-03 01:30 UTC, the evening of 06-02 in New York, 80.
        cls.o2 = cls._paid(cls.ann_buyer, datetime(2025, 6, 3, 1, 30), 80)
        # O3: 06-05 16:00 UTC, 40, refunded entirely on 06-09 (-40, no visit).
        o3 = cls._paid(cls.ann, datetime(2025, 6, 5, 16, 0), 40)
        refund = cls.env["pos.order"].browse(o3.refund()["res_id"])
        cls._pay(refund)
        refund.date_order = datetime(2025, 6, 9, 16, 0)
        # O4: 06-16 15:00 UTC, 50, invoiced.
        cls.o4 = cls._paid(cls.ann, datetime(2025, 6, 16, 15, 0), 50)
        cls.o4.with_context(generate_pdf=False).action_pos_order_invoice()
        # A draft (never paid) and a cancelled order count for nothing.
        cls._order(cls.ann, datetime(2025, 6, 20, 15, 0), 999)
        cls._order(cls.ann, datetime(2025, 6, 21, 15, 0), 777).action_pos_order_cancel()
        # The walk-in customer and an order without a customer neither.
        cls._paid(cls.retail, datetime(2025, 6, 10, 15, 0), 500)
        cls._paid(None, datetime(2025, 6, 11, 15, 0), 300)

    @classmethod
    def _till(cls):
        """A till with a cash payment method, as point_of_sale's own tests
        make it (point_of_sale/tests/common.py, TestPointOfSaleCommon)."""
        cash_journal = cls.company_data["default_journal_cash"]
        cash_journal.pos_payment_method_ids.unlink()
        cls.cash = cls.env["pos.payment.method"].create(
            {
                "name": "Cash",
                "receivable_account_id": cls.company_data[
                    "default_account_receivable"
                ].id,
                "journal_id": cash_journal.id,
                "company_id": cls.company.id,
            }
        )
        cls.config = cls.env["pos.config"].create(
            {
                "name": "Shop till",
                "invoice_journal_id": cls.company_data["default_journal_sale"].id,
                "payment_method_ids": [Command.set(cls.cash.ids)],
                "journal_id": cls.env["account.journal"]
                .create(
                    {
                        "type": "general",
                        "name": "Point of Sale - Retention",
                        "code": "POSR",
                        "company_id": cls.company.id,
                    }
                )
                .id,
            }
        )

    @classmethod
    def _order(cls, partner, when, amount):
        order = cls.env["pos.order"].create(
            {
                "company_id": cls.company.id,
                "session_id": cls.config.current_session_id.id,
                "partner_id": partner.id if partner else False,
                "lines": [
                    Command.create(
                        {
                            "product_id": cls.coffee.id,
                            "qty": 1,
                            "price_unit": amount,
                            "price_subtotal": amount,
                            "price_subtotal_incl": amount,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
                "amount_total": amount,
                "amount_tax": 0.0,
                "amount_paid": 0.0,
                "amount_return": 0.0,
                "last_order_preparation_change": "{}",
            }
        )
        order.date_order = when
        return order

    @classmethod
    def _pay(cls, order):
        context = {"active_id": order.id, "active_ids": order.ids}
        cls.env["pos.make.payment"].with_context(**context).create(
            {"amount": order.amount_total, "payment_method_id": cls.cash.id}
        ).check()

    @classmethod
    def _paid(cls, partner, when, amount):
        order = cls._order(partner, when, amount)
        cls._pay(order)
        return order

    def _recompute(self):
        self.env["res.partner"].retention_recompute(as_of=AS_OF)

    def _values(self, partner):
        return partner.with_company(self.company)

    def test_states(self):
        self.assertEqual(self.o1.state, "done")
        self.assertEqual(self.o2.state, "paid")
        self.assertEqual(self.o4.state, "invoiced")

    def test_paid_posted_and_invoiced_orders_are_visits(self):
        self._recompute()
        ann = self._values(self.ann)
        # Visits 05-01, 06-02 (local day of O2), 06-05, 06-16: 32, 3 and 11
        # days apart, median 11. Revenue 100 + 80 + 40 - 40 + 50 = 230; the
        # draft, the cancelled order and the refund's day are no visits.
        self.assertEqual(ann.retention_visit_count, 4)
        self.assertAlmostEqual(ann.retention_revenue, 230.0)
        self.assertAlmostEqual(ann.retention_avg_ticket, 57.5)
        self.assertEqual(ann.retention_cadence_days, 11.0)
        self.assertEqual(ann.retention_first_order_date, date(2025, 5, 1))
        self.assertEqual(ann.retention_last_order_date, date(2025, 6, 16))
        self.assertFalse(self._values(self.retail).retention_status)
        self.assertFalse(self._values(self.ann_buyer).retention_status)

    def test_the_local_day_of_a_late_evening_order(self):
        transactions = retention_store.extract_transactions(
            self.company, AS_OF, partner_ids=self.ann.ids
        )
        days = transactions[transactions["is_visit"]]["date"].dt.date.tolist()
        # 06-03 01:30 UTC is 06-02 21:30 in New York.
        self.assertIn(date(2025, 6, 2), days)
        self.assertNotIn(date(2025, 6, 3), days)

    def test_the_switch_off_reads_no_till(self):
        self.company.retention_include_pos = False
        self._recompute()
        self.assertFalse(self._values(self.ann).retention_status)

    def test_an_invoiced_till_order_counts_once_with_invoices(self):
        # Invoices and the till: O4's invoice is O4's, the same figures.
        self.company.retention_source = "invoice"
        self._recompute()
        ann = self._values(self.ann)
        self.assertEqual(ann.retention_visit_count, 4)
        self.assertAlmostEqual(ann.retention_revenue, 230.0)
        # Invoices alone: O4's invoice, 50, one visit.
        self.company.retention_include_pos = False
        self._recompute()
        ann = self._values(self.ann)
        self.assertEqual(ann.retention_visit_count, 1)
        self.assertAlmostEqual(ann.retention_revenue, 50.0)

    def test_amounts_in_the_company_currency(self):
        # Bob's order of 300 was taken in a currency worth half the
        # company's: pos.order.currency_rate (order currency per company
        # currency) is 2, as point_of_sale computes it for such a till.
        order = self._paid(self.bob, datetime(2025, 6, 12, 15, 0), 300)
        order.currency_rate = 2.0
        self._recompute()
        self.assertAlmostEqual(self._values(self.bob).retention_revenue, 150.0)

    def test_visits_of_retention_analysis_include_the_till(self):
        visits = retention_history.extract_visits(
            self.company, AS_OF, partner_ids=self.ann.ids
        )
        evening = visits[visits["at"] == datetime(2025, 6, 2, 21, 30)]
        self.assertEqual(len(evening), 1)
        row = evening.iloc[0]
        self.assertTrue(row["is_visit"])
        self.assertTrue(row["has_time"])  # the hour grid counts it
        self.assertEqual(row["revenue"], 80.0)
        self.assertEqual(row["categ_id"], self.category.id)
        self.assertEqual(row["warehouse_id"], self.config.warehouse_id.id)
        self.assertEqual(row["source_id"], 0)
        refunds = visits[~visits["is_visit"]]
        self.assertEqual(refunds["revenue"].tolist(), [-40.0])

    def test_changed_till_orders_are_seen_by_the_hourly_update(self):
        self.assertTrue(
            index_exists(self.env.cr, "pos_order_retention_company_write_date_idx")
        )
        self.env.cr.execute("UPDATE pos_order SET write_date = '2000-01-01'")
        since = datetime(2020, 1, 1)
        self.assertFalse(retention_store.changed_customers(self.company, since))
        self.o2.general_note = "changed"  # Ann's buyer's order: Ann changed
        self.env.flush_all()
        self.assertEqual(
            retention_store.changed_customers(self.company, since), [self.ann.id]
        )

    def test_an_order_settled_at_the_till_counts_once(self):
        if "sale_order_line_id" not in self.env["pos.order.line"]._fields:
            self.skipTest("pos_sale is not installed")
        # Bob's sales order of 06-02, 120, settled at the till on 06-06 with
        # a bag of 5 bought on top: the order's visit and 120, plus 5 on
        # 06-06 without a visit of its own.
        order = self.env["sale.order"].create(
            {
                "partner_id": self.bob.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.coffee.id,
                            "product_uom_qty": 1,
                            "price_unit": 120,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )
        order.action_confirm()
        order.date_order = datetime(2025, 6, 2, 15, 0)
        settled = self._order(self.bob, datetime(2025, 6, 6, 15, 0), 120)
        settled.lines.write(
            {
                "sale_order_origin_id": order.id,
                "sale_order_line_id": order.order_line.id,
            }
        )
        settled.write(
            {
                "lines": [
                    Command.create(
                        {
                            "product_id": self.coffee.id,
                            "qty": 1,
                            "price_unit": 5,
                            "price_subtotal": 5,
                            "price_subtotal_incl": 5,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
                "amount_total": 125,
            }
        )
        self._pay(settled)
        self._recompute()
        bob = self._values(self.bob)
        self.assertEqual(bob.retention_visit_count, 1)
        self.assertEqual(bob.retention_last_order_date, date(2025, 6, 2))
        self.assertAlmostEqual(bob.retention_revenue, 125.0)
