# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime, time

import pandas as pd
from freezegun import freeze_time

from odoo import Command
from odoo.tests import new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from ..engine.history import visit_transactions
from ..engine.metrics import TRANSACTION_COLUMNS
from ..models import retention_history, retention_store
from .common import AS_OF, RetentionCase


@tagged("post_install", "-at_install")
class TestSaleOrderCurrency(RetentionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # 2 EUR for 1 unit of the company currency from 2025 on.
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.env["res.currency.rate"].create(
            {
                "name": "2025-01-01",
                "rate": 2.0,
                "currency_id": cls.eur.id,
                "company_id": cls.company.id,
            }
        )
        cls.eur_pricelist = cls.env["product.pricelist"].create(
            {"name": "EUR", "currency_id": cls.eur.id}
        )

    def test_amounts_are_converted_to_the_company_currency(self):
        if self.company.currency_id == self.eur:
            self.skipTest("the test database's company already works in EUR")
        customer = self._customer("Euro Buyer")
        self._order(
            customer, date(2025, 6, 1), 400, pricelist=self.eur_pricelist
        )  # 400 EUR = 200
        self._order(customer, date(2025, 6, 11), 100)  # 100 in company currency
        self.recompute()
        # (200 + 100) over 2 visits.
        self.assertRetention(
            customer, revenue=300.0, avg_ticket=150.0, visit_count=2, cadence_days=10.0
        )


@tagged("post_install", "-at_install")
class TestInvoiceSource(AccountTestInvoicingCommon):
    """Posted invoices are visits, credit notes lower revenue but are not
    visits, drafts count for nothing."""

    @classmethod
    def setUpClass(cls):
        # Today is AS_OF, as in RetentionCase.
        cls.startClassPatcher(freeze_time(datetime.combine(AS_OF, time(12, 0))))
        super().setUpClass()
        cls.env.company.retention_source = "invoice"
        cls.eur = cls.setup_other_currency("EUR", rates=[("2025-01-01", 2.0)])
        cls.customer = cls.env["res.partner"].create({"name": "Invoiced Customer"})
        cls.contact = cls.env["res.partner"].create(
            {"name": "Their Buyer", "parent_id": cls.customer.id}
        )

        def invoice(move_type, day, amount, partner=None, **kwargs):
            return cls.init_invoice(
                move_type,
                partner=partner or cls.customer,
                invoice_date=day,
                amounts=[amount],
                post=True,
                **kwargs,
            )

        invoice("out_invoice", date(2025, 3, 1), 100)
        invoice("out_invoice", date(2025, 5, 1), 200)
        invoice("out_invoice", date(2025, 5, 1), 50, partner=cls.contact)
        invoice("out_refund", date(2025, 5, 20), 30)
        cls.init_invoice(
            "out_invoice",
            partner=cls.customer,
            invoice_date=date(2025, 6, 1),
            amounts=[999],
        )  # draft
        cls.foreign = cls.env["res.partner"].create({"name": "Foreign Customer"})
        invoice(
            "out_invoice", date(2025, 6, 10), 400, partner=cls.foreign, currency=cls.eur
        )
        cls.refund_only = cls.env["res.partner"].create({"name": "Refund Only"})
        invoice("out_refund", date(2025, 6, 10), 40, partner=cls.refund_only)

    def _values(self, partner):
        return partner.with_company(self.env.company)

    def test_invoices_and_refunds(self):
        self.env["res.partner"].retention_recompute(as_of=AS_OF)
        customer = self._values(self.customer)
        # Visits 03-01 and 05-01 (200 + 50 by the contact, same day): 61 days apart.
        # Revenue 100 + 250 - 30 (credit note, not a visit) = 320; draft ignored.
        self.assertEqual(customer.retention_visit_count, 2)
        self.assertAlmostEqual(customer.retention_revenue, 320.0)
        self.assertAlmostEqual(customer.retention_avg_ticket, 160.0)
        self.assertEqual(customer.retention_cadence_days, 61.0)
        self.assertEqual(customer.retention_last_order_date, date(2025, 5, 1))
        self.assertEqual(customer.retention_days_since_last, 60)
        self.assertEqual(customer.retention_status, "active")
        self.assertFalse(self._values(self.contact).retention_status)

    def test_foreign_currency_invoice(self):
        self.env["res.partner"].retention_recompute(as_of=AS_OF)
        # 400 EUR at 2 EUR per unit of company currency.
        self.assertAlmostEqual(self._values(self.foreign).retention_revenue, 200.0)

    def test_refund_only_customer_has_no_status(self):
        self.env["res.partner"].retention_recompute(as_of=AS_OF)
        refund_only = self._values(self.refund_only)
        self.assertFalse(refund_only.retention_status)
        self.assertEqual(refund_only.retention_visit_count, 0)
        self.assertAlmostEqual(refund_only.retention_revenue, -40.0)

    def test_open_receivable_on_the_summary_for_a_salesperson(self):
        debtor = self.env["res.partner"].create({"name": "Debtor"})
        for move_type, amount in (
            ("out_invoice", 100),
            ("out_invoice", 250),
            ("out_refund", 30),
        ):
            self.init_invoice(
                move_type,
                partner=debtor,
                invoice_date=date(2025, 6, 2),
                amounts=[amount],
                taxes=[],
                post=True,
            )
        rep = new_test_user(
            self.env,
            "receivable_rep",
            groups="sales_team.group_sale_salesman",
            company_id=self.env.company.id,
            company_ids=[(6, 0, self.env.company.ids)],
        )
        # Unpaid, untaxed: 100 + 250 - 30. A salesperson has no accounting
        # rights, yet sees what the customer owes.
        seen = debtor.with_user(rep).with_company(self.env.company)
        self.assertAlmostEqual(seen.retention_receivable, 320.0)
        self.assertFalse(rep.has_group("account.group_account_invoice"))

    def test_a_branch_sees_its_own_receivable_only(self):
        # Issue 21, hole 3: the parent invoices 100, branch A1 5,000, branch
        # A2 nothing. Odoo's credit adds up the whole tree (5,100 in each);
        # the summary shows each company's own figure, to a salesperson of
        # that branch alone, and to the root company's as the root's.
        root = self.env.company
        root.write(
            {
                "child_ids": [
                    Command.create({"name": "A1"}),
                    Command.create({"name": "A2"}),
                ]
            }
        )
        self.env.cr.precommit.run()  # the branches' accounting set-up
        branch_1, branch_2 = root.child_ids
        debtor = self.env["res.partner"].create({"name": "Branch Debtor"})
        for company, amount in ((root, 100), (branch_1, 5000)):
            self.init_invoice(
                "out_invoice",
                partner=debtor,
                invoice_date=date(2025, 6, 2),
                amounts=[amount],
                taxes=[],
                post=True,
                company=company,
            )
        self.assertAlmostEqual(debtor.with_company(branch_2).sudo().credit, 5100.0)
        for company, expected in ((root, 100.0), (branch_1, 5000.0), (branch_2, 0.0)):
            rep = new_test_user(
                self.env,
                f"receivable_rep_{company.id}",
                groups="sales_team.group_sale_salesman",
                company_id=company.id,
                company_ids=[(6, 0, company.ids)],
            )
            seen = debtor.with_user(rep).with_company(company)
            self.assertAlmostEqual(
                seen.retention_receivable, expected, msg=company.name
            )

    def test_sale_source_ignores_invoices(self):
        self.env.company.retention_source = "sale"
        self.env["res.partner"].retention_recompute(as_of=AS_OF)
        self.assertFalse(self._values(self.customer).retention_status)


@tagged("post_install", "-at_install")
class TestSaleAndInvoiceSource(AccountTestInvoicingCommon):
    """Both sources: sales orders, plus the invoices and credit notes that
    do not come from one. An invoice line linked to a line of a confirmed
    order belongs to that order, counted once at its ordered amount; a
    document with such a line is no visit of its own, its other lines add
    to revenue on its day."""

    @classmethod
    def setUpClass(cls):
        cls.startClassPatcher(freeze_time(datetime.combine(AS_OF, time(12, 0))))
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.retention_source = "sale_invoice"
        cls.category = cls.env["product.category"].create({"name": "Bikes"})
        cls.bike = cls.env["product.product"].create(
            {
                "name": "Bike service",
                "type": "service",
                "invoice_policy": "order",
                "categ_id": cls.category.id,
                "taxes_id": [Command.clear()],
            }
        )
        cls.customer = cls.env["res.partner"].create({"name": "Both Ways"})
        cls.campaign_source = cls.env["utm.source"].create({"name": "Flyer"})
        # Order A, 03-03, 100: invoiced on 03-10, that invoice reversed by a
        # credit note on 04-25. All three are the order: one visit, 100.
        cls.order_a = cls._confirmed_order(date(2025, 3, 3), 100)
        cls.order_a.source_id = cls.campaign_source
        invoice_a = cls._post(cls.order_a._create_invoices(), date(2025, 3, 10))
        reversal = invoice_a._reverse_moves([{"invoice_date": date(2025, 4, 25)}])
        cls._post(reversal, date(2025, 4, 25))
        # An invoice without an order, 04-14, 60: a visit.
        cls._invoice("out_invoice", date(2025, 4, 14), 60)
        # A credit note without an order, 04-20, 10: revenue -10, no visit.
        cls._invoice("out_refund", date(2025, 4, 20), 10)
        # A draft invoice counts for nothing.
        cls.init_invoice(
            "out_invoice",
            partner=cls.customer,
            invoice_date=date(2025, 5, 5),
            amounts=[999],
        )
        # Order B, 05-12, 200, invoiced on 05-19 with a fee of 30 added on
        # the invoice: the order's visit and 200, plus 30 on 05-19, no visit.
        order_b = cls._confirmed_order(date(2025, 5, 12), 200)
        invoice_b = order_b._create_invoices()
        invoice_b.write(
            {
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Delivery fee",
                            "quantity": 1,
                            "price_unit": 30,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ]
            }
        )
        cls._post(invoice_b, date(2025, 5, 19))

    @classmethod
    def _confirmed_order(cls, day, amount):
        order = cls.env["sale.order"].create(
            {
                "partner_id": cls.customer.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": cls.bike.id,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )
        order.action_confirm()
        order.date_order = datetime.combine(day, time(12, 0))
        return order

    @classmethod
    def _post(cls, move, day):
        move.invoice_date = day
        move.action_post()
        return move

    @classmethod
    def _invoice(cls, move_type, day, amount):
        return cls.init_invoice(
            move_type,
            partner=cls.customer,
            invoice_date=day,
            amounts=[amount],
            taxes=cls.env["account.tax"],
            post=True,
        )

    def _values(self):
        return self.customer.with_company(self.company)

    def test_orders_and_invoices_without_an_order(self):
        self.env["res.partner"].retention_recompute(as_of=AS_OF)
        customer = self._values()
        # Visits 03-03 (order A), 04-14 (invoice), 05-12 (order B): 42 and 28
        # days apart, median 35. Revenue 100 + 60 - 10 + 200 + 30 = 380; the
        # invoices of the orders and the credit note of order A count nothing
        # more, the draft nothing. Ticket 380 / 3 = 126.67.
        self.assertEqual(customer.retention_visit_count, 3)
        self.assertAlmostEqual(customer.retention_revenue, 380.0)
        self.assertAlmostEqual(customer.retention_avg_ticket, 380.0 / 3, places=2)
        self.assertEqual(customer.retention_cadence_days, 35.0)
        self.assertEqual(customer.retention_last_order_date, date(2025, 5, 12))

    def test_each_source_alone(self):
        # Orders alone: 03-03 and 05-12, 100 + 200.
        self.company.retention_source = "sale"
        self.env["res.partner"].retention_recompute(as_of=AS_OF)
        self.assertEqual(self._values().retention_visit_count, 2)
        self.assertAlmostEqual(self._values().retention_revenue, 300.0)
        # Invoices alone: 03-10 (100), 04-14 (60), 05-19 (230) are visits;
        # credit notes -100 (order A's) and -10: 280.
        self.company.retention_source = "invoice"
        self.env["res.partner"].retention_recompute(as_of=AS_OF)
        self.assertEqual(self._values().retention_visit_count, 3)
        self.assertAlmostEqual(self._values().retention_revenue, 280.0)

    def test_visits_carry_source_time_and_warehouse(self):
        visits = retention_history.extract_visits(self.company, AS_OF)
        visits = visits[visits["is_visit"]].sort_values("at")
        # Order A, the invoice of 04-14 and order B; the invoice at midnight,
        # without a time of day, the orders at their local time.
        self.assertEqual(len(visits), 3)
        self.assertEqual(visits["has_time"].tolist(), [True, False, True])
        self.assertEqual(visits["source_id"].tolist(), [self.campaign_source.id, 0, 0])
        warehouse = (
            self.order_a.warehouse_id.id  # sale_stock installed
            if "warehouse_id" in self.order_a._fields
            else 0
        )
        self.assertEqual(visits["warehouse_id"].tolist()[0], warehouse)
        self.assertEqual(visits["warehouse_id"].tolist()[1], 0)
        # 30 of order B's invoice: revenue on 05-19 without a visit.
        fee = retention_history.extract_visits(self.company, AS_OF)
        fee = fee[fee["at"] == datetime(2025, 5, 19)]
        self.assertEqual(fee[["revenue", "is_visit"]].values.tolist(), [[30.0, False]])

    def test_one_read_of_the_documents_gives_the_transactions(self):
        # The nightly chunks read each customer's documents once, as visits,
        # and take their transactions from them (engine.history
        # .visit_transactions): the rows of the transactions' extract, for
        # every source setting (orders first, refunds, the fee of an
        # invoice, credit notes without a visit).
        # (Rows of one key from two sources are one for the engine: summed.)
        def rows(frame):
            frame = frame.assign(date=pd.to_datetime(frame["date"]).dt.date)
            keys = [name for name in TRANSACTION_COLUMNS if name != "amount"]
            summed = frame.groupby(keys, as_index=False)["amount"].sum()
            summed["amount"] = summed["amount"].round(6)
            return sorted(map(tuple, summed[TRANSACTION_COLUMNS].values.tolist()))

        for source in ("sale", "invoice", "sale_invoice"):
            self.company.retention_source = source
            expected = retention_store.extract_transactions(self.company, AS_OF)
            visits = retention_history.extract_visits(self.company, AS_OF)
            got = visit_transactions(visits, self.company.id)
            self.assertTrue(len(expected), source)
            self.assertEqual(rows(got), rows(expected), source)

    def test_changed_invoices_and_orders_are_both_seen(self):
        # Written long ago: nobody changed since 2020.
        for table in ("sale_order", "account_move"):
            self.env.cr.execute(f"UPDATE {table} SET write_date = '2000-01-01'")  # noqa: S608
        since = datetime(2020, 1, 1)
        self.assertFalse(retention_store.changed_customers(self.company, since))
        # A new invoice (write_date: the database's clock, now) ...
        self._invoice("out_invoice", date(2025, 6, 20), 5)
        changed = retention_store.changed_customers(self.company, since)
        self.assertEqual(changed, [self.customer.id])
        # ... or an order written again.
        self.env.cr.execute("UPDATE account_move SET write_date = '2000-01-01'")
        self.order_a.client_order_ref = "changed"
        self.env.flush_all()
        changed = retention_store.changed_customers(self.company, since)
        self.assertEqual(changed, [self.customer.id])
