# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import RetentionCase


@tagged("post_install", "-at_install")
class TestViews(RetentionCase):
    """Every screen loads for the people who use it, and the kanban shows
    the statuses in their natural order."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        today = fields.Date.context_today(cls.env["res.partner"])
        cls.active = cls._customer("Steady")
        for days in (130, 100, 70, 40, 10):
            cls._order(cls.active, today - timedelta(days=days), 100)
        cls.lost = cls._customer("Long Gone")
        cls._order(cls.lost, today - timedelta(days=500), 100)
        cls.env["res.partner"].retention_recompute()
        cls.rep = new_test_user(cls.env, "retention_rep", groups="sales_team.group_sale_salesman")
        cls.clerk = new_test_user(cls.env, "retention_clerk", groups="base.group_user")
        cls.action = cls.env.ref("customer_retention.action_customer_retention")

    def test_every_view_loads(self):
        views = [(False, view_type) for view_type in ("list", "kanban", "pivot", "graph", "form", "search")]
        for user in (self.env.user, self.rep):
            with self.subTest(user=user.login):
                Partner = self.env["res.partner"].with_user(user)
                for view in self.action.view_ids:
                    Partner.get_views([(view.view_id.id, view.view_mode)])
                loaded = Partner.get_views(views)
                self.assertIn("retention_reason", loaded["views"]["form"]["arch"])
                self.assertIn("retention_at_risk", loaded["views"]["search"]["arch"])
        settings = self.env["res.config.settings"].get_views([(False, "form")])
        self.assertIn("retention_lookback_days", settings["views"]["form"]["arch"])
        # Thresholds are for administrators only.
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.rep).get_views([(False, "form")])

    def test_user_without_sales_rights(self):
        Partner = self.env["res.partner"].with_user(self.clerk)
        loaded = Partner.get_views([(False, "list"), (False, "form"), (False, "search")])
        for arch in (view["arch"] for view in loaded["views"].values()):
            self.assertNotIn("retention_", arch)
        Partner.web_search_read([], {"display_name": {}, "phone": {}}, limit=5)
        Partner.browse(self.active.id).web_read({"display_name": {}, "email": {}})

    def test_action_lists_customers_with_values(self):
        Partner = self.env["res.partner"].with_user(self.rep).with_context(**self.action._get_eval_context())
        domain = eval(self.action.domain)  # noqa: S307 - the action's own literal domain
        found = Partner.web_search_read(domain, {"retention_status": {}, "retention_reason": {}})
        by_id = {record["id"]: record for record in found["records"]}
        self.assertEqual(set(by_id), {self.active.id, self.lost.id})
        self.assertEqual(by_id[self.lost.id]["retention_status"], "lost")

    def test_kanban_columns_follow_the_status_order(self):
        groups = self.env["res.partner"].with_user(self.rep).web_read_group(
            [("retention_status", "!=", False)], ["retention_status"], ["retention_status"]
        )["groups"]
        self.assertEqual([g["retention_status"] for g in groups], ["new", "active", "at_risk", "lost"])
        counts = {g["retention_status"]: g["retention_status_count"] for g in groups}
        self.assertEqual(counts, {"new": 0, "active": 1, "at_risk": 0, "lost": 1})

    def test_pivot_measures_aggregate(self):
        groups = self.env["res.partner"].with_user(self.rep).read_group(
            [("retention_status", "!=", False)],
            ["retention_revenue:sum", "retention_avg_ticket:avg"],
            [],
        )
        self.assertAlmostEqual(groups[0]["retention_revenue"], 600.0)
        # (100 + 100) / 2 customers
        self.assertAlmostEqual(groups[0]["retention_avg_ticket"], 100.0)

    def test_search_filters_run(self):
        arch = self.env["res.partner"].get_views([(False, "search")])["views"]["search"]["arch"]
        self.assertIn("retention_overdue", arch)
        Partner = self.env["res.partner"].with_user(self.rep)
        today = fields.Date.context_today(Partner).isoformat()
        overdue = Partner.search([
            ("retention_next_order_date", "<", today), ("retention_status", "in", ("active", "at_risk")),
        ])
        self.assertNotIn(self.active, overdue)  # next expected order in 20 days
        self.assertIn(self.lost, Partner.search([("retention_status", "=", "lost")]))
