# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime, time

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

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

    def test_sale_source_ignores_invoices(self):
        self.env.company.retention_source = "sale"
        self.env["res.partner"].retention_recompute(as_of=AS_OF)
        self.assertFalse(self._values(self.customer).retention_status)
