# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, timedelta

from odoo.tests import tagged

from .common import AS_OF, RetentionCase


@tagged("post_install", "-at_install")
class TestMultiCompany(RetentionCase):
    """One customer buys from two companies of one database: two independent
    sets of values, each visible only from its own company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create(
            {"name": "Branch B", "currency_id": cls.company.currency_id.id}
        )
        cls.customer = cls._customer("Shared Customer")
        # Company A: one visit on 2025-06-20 (10 days before as_of): new.
        cls._order(cls.customer, date(2025, 6, 20), 100)
        # Company B: visits 2024-01-10 and 2024-02-09, long silent: lost.
        cls._order(cls.customer, date(2024, 1, 10), 300, company=cls.company_b)
        cls._order(cls.customer, date(2024, 2, 9), 300, company=cls.company_b)
        # Company B counts lost customers after 600 days instead of 365.
        cls.company_b.write({"retention_lost_days": 600, "retention_dormant_days": 200})
        cls.user_a = cls._user("sales_a", "sales_team.group_sale_salesman_all_leads")

    def test_each_company_has_its_own_values(self):
        self.recompute()
        self.assertRetention(self.customer, visit_count=1, revenue=100.0, status="new")
        # B: 2025-06-30 - 2024-02-09 = 507 days: not lost with 600 days, at risk
        # since 507 > dormant 200.
        self.assertRetention(
            self.customer,
            company=self.company_b,
            visit_count=2,
            revenue=600.0,
            cadence_days=30.0,
            days_since_last=507,
            status="at_risk",
        )

    def test_user_of_company_a_never_sees_company_b(self):
        self.recompute()
        Partner = self.env["res.partner"].with_user(self.user_a)
        self.assertEqual(Partner.search([("retention_status", "=", "at_risk")]).ids, [])
        self.assertEqual(
            Partner.search([("retention_status", "=", "new")]).ids, self.customer.ids
        )
        self.assertEqual(self.customer.with_user(self.user_a).retention_revenue, 100.0)

    def test_a_company_without_orders_gets_nothing(self):
        empty = self.env["res.company"].create({"name": "Empty Branch"})
        self.recompute(AS_OF - timedelta(days=1))
        self.assertRetention(self.customer, company=empty, status=False, visit_count=0)
        self.assertFalse(
            empty._retention_run().last_run,
            "a back-test as of a past day is no run of today",
        )
        self.env["res.partner"].retention_recompute()
        self.assertTrue(empty._retention_run().last_run)
