# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime, time, timedelta
from functools import partial

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import AS_OF, RetentionCase


@tagged("post_install", "-at_install")
class TestRecompute(RetentionCase):
    """One hand-checked shop, as of 2025-06-30, default settings: look-back
    730 days, new 90, factor 1.5, minimum 30, dormant 180, lost 365, trend
    quarter (91 days), peer group = country, frequent = 4 visits."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        order = cls._order
        # Regular: every 30 days, two orders on 2025-05-31 make one visit.
        cls.regular = cls._customer("Regular")
        for day in (
            "2025-01-01",
            "2025-01-31",
            "2025-03-02",
            "2025-04-01",
            "2025-05-01",
            "2025-05-31",
        ):
            order(cls.regular, date.fromisoformat(day), 100)
        order(cls.regular, date(2025, 5, 31), 50)
        order(cls.regular, date(2025, 7, 5), 999)  # after as_of: ignored
        order(cls.regular, date(2025, 6, 15), 777, confirm=False)  # quotation: ignored
        # Overdue: every 31 days, silent since 2025-01-02.
        cls.overdue = cls._customer("Overdue")
        for day in ("2024-10-01", "2024-11-01", "2024-12-02", "2025-01-02"):
            order(cls.overdue, date.fromisoformat(day), 200)
        # Newcomer from Germany: a single order 20 days ago.
        cls.newcomer = cls._customer("Newcomer", country=cls.germany)
        order(cls.newcomer, date(2025, 6, 10), 80)
        # Gone: last order 425 days ago.
        cls.gone = cls._customer("Gone")
        order(cls.gone, date(2023, 1, 10), 500)
        order(cls.gone, date(2024, 5, 1), 500)
        # Fleet Ltd buys tyres through its contact John and directly.
        cls.fleet = cls._customer("Fleet Ltd", is_company=True)
        cls.john = cls._customer("John", parent_id=cls.fleet.id)
        order(cls.john, date(2025, 3, 1), 100, product=cls.tyres)
        order(cls.john, date(2025, 6, 1), 300, product=cls.tyres)
        order(cls.fleet, date(2025, 6, 1), 200, product=cls.tyres)
        cls.count = cls.env["res.partner"].retention_recompute(as_of=AS_OF)

    def test_customer_count(self):
        # Regular, Overdue, Newcomer, Gone, Fleet Ltd: John rolls up to Fleet.
        self.assertEqual(self.count, 5)

    def test_regular_customer(self):
        expect = partial(self.assertRetention, self.regular)
        # Visits 01-01 .. 05-31, gaps 30,30,30,30,30 -> cadence 30: the next
        # order is due 05-31 + 30 = 06-30.
        expect(first_order_date=date(2025, 1, 1), last_order_date=date(2025, 5, 31))
        expect(cadence_days=30.0, next_order_date=date(2025, 6, 30))
        # Revenue 5 x 100 + (100 + 50 same day) = 650 over 6 visits.
        expect(visit_count=6, revenue=650.0, avg_ticket=650 / 6)
        # Last visit 05-31: 30 days ago <= threshold min(max(1.5 x 30, 30), 180) = 45.
        expect(days_since_last=30, status="active")
        # Trend: (03-31, 06-30] = 100 + 100 + 150 = 350 vs (12-30, 03-31] = 300
        # -> +16.67 %, read to one decimal.
        expect(trend_pct=16.7)
        # Poland by revenue: Overdue 800, Regular 650, Fleet 600, Gone 500
        # -> rank 2/4 = 50 %.
        expect(group_top_pct=50.0, group_tier="top50")
        # 6 visits in the last 365 days, not in the top 25 %: frequent.
        expect(profile="frequent", alert="opportunity", action="cross_sell")
        self.assertTrue(self.regular.with_company(self.company).retention_computed_at)

    def test_overdue_customer(self):
        expect = partial(self.assertRetention, self.overdue)
        # 4 visits, 200 each.
        expect(visit_count=4, revenue=800.0)
        # Cadence 31, last visit 2025-01-02 = 179 days ago > min(max(46.5, 30), 180):
        # the next order was due 01-02 + 31 = 02-02.
        expect(cadence_days=31.0, days_since_last=179, status="at_risk")
        expect(next_order_date=date(2025, 2, 2))
        # (03-31, 06-30] = 0 vs (12-30, 03-31] = 200 (the 01-02 visit).
        expect(trend_pct=-100.0)
        # Top of Poland (1/4 = 25 %) with 4 visits in the last 365 days: valuable,
        # but the at-risk alert comes first.
        expect(group_top_pct=25.0, group_tier="top25", profile="valuable")
        expect(alert="at_risk", action="reactivation")
        reason = self.overdue.with_company(self.company).retention_reason
        self.assertIn("179", reason)
        self.assertIn("31", reason)
        self.assertIn("5.8", reason)  # 179 / 31 = 5.77 -> 5.8x overdue

    def test_new_one_time_customer(self):
        expect = partial(self.assertRetention, self.newcomer)
        # A single order of 80, 20 days ago: new, and no rhythm yet.
        expect(visit_count=1, revenue=80.0, days_since_last=20, status="new")
        expect(cadence_days=False, next_order_date=False)
        # Alone in the German group: rank 1/1 = 100 %.
        expect(group_top_pct=100.0, group_tier="below")
        expect(profile="one_time", alert="opportunity", action="starter_offer")

    def test_lost_customer(self):
        expect = partial(self.assertRetention, self.gone)
        # 2025-06-30 - 2024-05-01 = 425 days > 365. The 2023 visit is outside
        # the 730-day window (from 2023-07-01) but still the first order.
        expect(first_order_date=date(2023, 1, 10), last_order_date=date(2024, 5, 1))
        expect(visit_count=1, revenue=500.0, days_since_last=425, status="lost")
        # Last in Poland: 4/4 = 100 %.
        expect(group_top_pct=100.0)
        expect(profile="dormant", alert=False, action="win_back")

    def test_contacts_roll_up_to_company(self):
        expect = partial(self.assertRetention, self.fleet)
        # John's and Fleet's orders on 06-01 are one visit of 500; with 03-01
        # two visits, 92 days apart, all revenue in one category.
        expect(visit_count=2, revenue=600.0, cadence_days=92.0, days_since_last=29)
        # (03-31, 06-30] = 500 vs (12-30, 03-31] = 100.
        expect(trend_pct=400.0)
        # Poland by revenue: 3rd of 4 -> 75 %.
        expect(status="active", group_top_pct=75.0, group_tier="below")
        expect(profile="category_focused", alert="monitor", action="same_category")
        self.assertRetention(self.john, status=False, visit_count=0)

    def test_fields_are_searchable_and_groupable(self):
        Partner = self.env["res.partner"]
        self.assertEqual(
            Partner.search([("retention_status", "=", "at_risk")]), self.overdue
        )
        self.assertEqual(
            Partner.search([("retention_alert", "=", "opportunity")], order="name"),
            self.newcomer | self.regular,
        )
        groups = Partner._read_group(
            [("retention_status", "!=", False)], ["retention_status"], ["__count"]
        )
        self.assertEqual(dict(groups), {"active": 2, "at_risk": 1, "new": 1, "lost": 1})
        # Pivot and graph list statuses in their business order, not alphabetically.
        self.assertEqual(
            [status for status, _count in groups], ["new", "active", "at_risk", "lost"]
        )
        ordered_by_status = Partner.search(
            [("retention_status", "!=", False)], order="retention_status desc"
        )
        self.assertEqual(
            ordered_by_status[0].with_company(self.company).retention_status, "lost"
        )
        ordered = Partner.search(
            [("retention_revenue", ">", 0)], order="retention_revenue desc"
        )
        self.assertEqual(
            ordered.ids,
            (self.overdue | self.regular | self.fleet | self.gone | self.newcomer).ids,
        )

    def test_cancelled_orders_clear_values(self):
        self.newcomer.sale_order_ids._action_cancel()
        self.recompute()
        self.assertRetention(
            self.newcomer, status=False, visit_count=0, revenue=0.0, reason=False
        )
        self.assertFalse(self.newcomer.with_company(self.company).retention_computed_at)
        # Everyone else keeps their values.
        self.assertRetention(self.regular, status="active")

    def test_recompute_is_idempotent(self):
        before = self.regular.with_company(self.company).read(
            ["retention_status", "retention_revenue"]
        )
        self.assertEqual(self.recompute(), 5)
        self.assertEqual(
            self.regular.with_company(self.company).read(
                ["retention_status", "retention_revenue"]
            ),
            before,
        )

    def test_back_test_sees_only_the_past(self):
        # As of 2025-01-15 Regular had visited once, on 01-01: a new customer.
        self.recompute(as_of=date(2025, 1, 15))
        self.assertRetention(
            self.regular,
            visit_count=1,
            revenue=100.0,
            status="new",
            last_order_date=date(2025, 1, 1),
        )
        # Newcomer had not bought yet.
        self.assertRetention(self.newcomer, status=False)


@tagged("post_install", "-at_install")
class TestRecomputeOneCustomer(RetentionCase):
    """The form button refreshes one customer now, ranked against the stored
    revenue of the others."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["res.partner"])
        cls.big = cls._customer("Big Spender")
        cls._order(cls.big, cls.today - timedelta(days=20), 1000)
        cls.small = cls._customer("Small Spender")
        cls.contact = cls._customer("Small's Driver", parent_id=cls.small.id)
        cls._order(cls.small, cls.today - timedelta(days=10), 100)
        cls.other = cls._customer("Untouched")
        cls._order(cls.other, cls.today - timedelta(days=5), 10)
        cls.env["res.partner"].retention_recompute()

    def test_button_recomputes_the_commercial_partner(self):
        # Small spends 1500 more through its driver: 1600 beats Big's stored 1000.
        self._order(self.contact, self.today - timedelta(days=1), 1500)
        other_before = self.other.with_company(self.company).retention_computed_at
        self.contact.action_retention_recompute()
        # Poland: Small 1600, Big 1000 (stored), Untouched 10 (stored) -> 1/3,
        # stored as a whole percent rounded up: top 34 %.
        self.assertRetention(
            self.small, visit_count=2, revenue=1600.0, days_since_last=1
        )
        self.assertEqual(
            self.small.with_company(self.company).retention_group_top_pct, 34
        )
        # Others keep their values until the nightly run: Big was 1st of 3.
        self.assertEqual(
            self.big.with_company(self.company).retention_group_top_pct, 34
        )
        self.assertEqual(
            self.other.with_company(self.company).retention_computed_at, other_before
        )

    def test_salesperson_may_refresh_a_customer(self):
        rep = new_test_user(
            self.env, "rep_refresh", groups="sales_team.group_sale_salesman_all_leads"
        )
        self.small.with_user(rep).action_retention_recompute()
        self.assertRetention(self.small, revenue=100.0)

    def test_only_managers_recompute_everything(self):
        rep = new_test_user(
            self.env, "rep_all", groups="sales_team.group_sale_salesman_all_leads"
        )
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(rep).retention_recompute()

    @classmethod
    def _mover(cls):
        """A salesman who may move orders and contacts."""
        return cls._user(
            "retention_mover",
            "sales_team.group_sale_salesman_all_leads,base.group_partner_manager",
        )

    def _orders_written_long_ago(self):
        """The company's run, as if the orders had been written long before
        its last run. One test is one transaction (write_date = its start
        for every write): the existing orders are dated back instead."""
        self.env.flush_all()
        self.env.cr.execute("UPDATE sale_order SET write_date = '2000-01-01'")
        run = self.company._retention_run()
        run.write({"last_run": "2001-01-01 00:00:00", "changed_until": False})
        return run

    def test_only_changed_customers_are_recomputed(self):
        # Small buys again, Big's order is cancelled; Untouched does nothing.
        run = self._orders_written_long_ago()
        self._order(self.small, self.today, 50)
        self.big.sale_order_ids._action_cancel()
        untouched_before = self.other.with_company(self.company).retention_computed_at
        stats = self.company._retention_recompute_changed()
        self.assertEqual(stats["customers"], 1)  # Small; Big has no order left
        self.assertEqual(stats["cleared"], 1)  # Big
        self.assertRetention(
            self.small, visit_count=2, revenue=150.0, days_since_last=0
        )
        self.assertRetention(self.big, status=False)
        self.assertEqual(
            self.other.with_company(self.company).retention_computed_at,
            untouched_before,
        )
        # Nothing changed since: nothing to do.
        # (the clock of the database, which stamped the orders, not frozen)
        run.changed_until = self.env.cr.now() + timedelta(days=1)
        self.assertEqual(self.company._retention_recompute_changed()["customers"], 0)

    def test_customers_a_document_left_are_recomputed(self):
        """Big's order given to Untouched, then Small's driver moved to Big's
        firm, by a salesman as over RPC: the hourly job recomputes the
        customers the order and the driver left, whose own documents nobody
        wrote, as well as those they joined."""
        self._orders_written_long_ago()
        rep = self._mover()
        order = self.big.sale_order_ids.with_user(rep)
        order._action_cancel()
        order.action_draft()
        order.write({"partner_id": self.other.id})
        order.action_confirm()
        order.date_order = datetime.combine(self.today - timedelta(days=20), time(12))
        stats = self.company._retention_recompute_changed()
        self.assertEqual(stats["cleared"], 1)  # Big: no order left
        self.assertRetention(self.big, status=False)
        self.assertRetention(self.other, visit_count=2, revenue=1010.0)

        # The driver's orders go with them to another firm.
        self._order(self.contact, self.today - timedelta(days=1), 1500)
        self.company._retention_recompute_changed()
        self.assertRetention(self.small, revenue=1600.0)
        self._orders_written_long_ago()
        self.contact.with_user(rep).parent_id = self.other
        stats = self.company._retention_recompute_changed()
        self.assertEqual(stats["customers"], 2)  # Small and Untouched
        self.assertRetention(self.small, visit_count=1, revenue=100.0)
        self.assertRetention(self.other, visit_count=3, revenue=2510.0)

    def test_a_merge_recomputes_the_customer_that_stays(self):
        """Merging Untouched into Small rewrites Untouched's order in SQL,
        unwritten: the hourly job still recomputes Small with both."""
        self._orders_written_long_ago()
        self.env["base.partner.merge.automatic.wizard"]._merge(
            (self.small | self.other).ids, self.small
        )
        self.assertFalse(self.other.exists())
        stats = self.company._retention_recompute_changed()
        self.assertEqual(stats["customers"], 1)
        self.assertRetention(self.small, visit_count=2, revenue=110.0)

    def test_moved_customers_are_kept_until_every_run_read_them(self):
        """retention.moved.customer: readable by administrators only (the
        writes record it under sudo); purged below the oldest watermark of
        any run, less the change look-up's overlap."""
        Moved = self.env["retention.moved.customer"]
        rep = self._mover()
        # A salesman moves an order: recorded, yet unreadable to them.
        order = self.small.sale_order_ids.with_user(rep)
        order._action_cancel()
        order.action_draft()
        order.partner_id = self.other
        recorded = Moved.search([("partner_id", "=", self.small.id)])
        self.assertEqual(recorded.company_id, self.company)
        with self.assertRaises(AccessError):
            Moved.with_user(rep).search([])
        # Oldest watermark: this company's Retention Analysis, 10 days ago.
        now = fields.Datetime.now()
        self.env["retention.run"].sudo().search([]).write(
            {"last_run": now, "changed_until": now, "report_until": now}
        )
        self.company._retention_run().report_until = now - timedelta(days=10)
        Moved.browse().sudo()._record([(None, self.big.id)])
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE retention_moved_customer SET moved_at = %s WHERE partner_id = %s",
            [now - timedelta(days=10, minutes=59), self.big.id],
        )
        self.env.cr.execute(
            "UPDATE retention_moved_customer SET moved_at = %s WHERE partner_id = %s",
            [now - timedelta(days=10, hours=2), self.small.id],
        )
        Moved._purge()
        Moved.invalidate_model()
        # Within the overlap: kept; before it: gone.
        self.assertEqual(Moved.search([]).partner_id, self.big)
        # No run has a watermark: every run reads everything next time.
        self.env["retention.run"].sudo().search([]).write(
            {"last_run": False, "changed_until": False, "report_until": False}
        )
        Moved._purge()
        self.assertFalse(Moved.search_count([]))
