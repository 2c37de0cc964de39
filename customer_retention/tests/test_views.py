# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from inspect import signature

from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError
from odoo.models import BaseModel
from odoo.osv import expression
from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval

from .common import RetentionCase

STATUS_ORDER = ["new", "active", "at_risk", "lost"]


@tagged("post_install", "-at_install")
class TestViews(RetentionCase):
    """Every screen loads for the people who use it, its filters run, and the
    kanban and side panel show the statuses in their natural order."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Days are counted back from today because the Overdue filter compares
        # with today; the recompute is pinned to the same day.
        cls.today = fields.Date.context_today(cls.env["res.partner"])
        # Steady: every 30 days, last 10 days ago -> Active, next order due in 20 days.
        cls.steady = cls._customer("Steady Salon", is_company=True)
        for days in (130, 100, 70, 40, 10):
            cls._order(cls.steady, cls.today - timedelta(days=days), 100)
        # Late: every 30 days but silent for 100 (> 1.5 x 30) -> At risk,
        # overdue for 70 days.
        cls.late = cls._customer("Late Garage", is_company=True)
        for days in (160, 130, 100):
            cls._order(cls.late, cls.today - timedelta(days=days), 200)
        # Newcomer: first and only order 20 days ago (< 90) -> New, no rhythm yet.
        cls.newcomer = cls._customer("Newcomer Cafe", is_company=True)
        cls._order(cls.newcomer, cls.today - timedelta(days=20), 50)
        # Gone: single order 500 days ago (> 365) -> Lost.
        cls.gone = cls._customer("Long Gone Bakery", is_company=True)
        cls._order(cls.gone, cls.today - timedelta(days=500), 100)
        cls.customers = cls.steady | cls.late | cls.newcomer | cls.gone
        # Prospect: no order, no retention values, not in the menu.
        cls.prospect = cls._customer("Prospect Hotel", is_company=True)
        cls.env["res.partner"].retention_recompute(as_of=cls.today)

        cls.admin = cls.env.ref("base.user_admin")
        cls.rep = new_test_user(
            cls.env, "retention_rep", groups="sales_team.group_sale_salesman"
        )
        cls.clerk = new_test_user(cls.env, "retention_clerk", groups="base.group_user")
        cls.action = cls.env.ref("customer_retention.action_customer_retention")
        cls.menu = cls.env.ref("customer_retention.menu_customer_retention")

    # helpers -------------------------------------------------------------

    def _read_view_fields(self, Partner, view_id, view_type, domain):
        """Read what the web client reads for a view: the fields of its arch
        as this user gets it (fields of x2many sub-views left out)."""
        arch = etree.fromstring(
            Partner.get_views([(view_id, view_type)])["views"][view_type]["arch"]
        )
        names = {
            node.get("name") for node in arch.xpath("//field[not(ancestor::field)]")
        }
        return Partner.web_search_read(domain, dict.fromkeys(names, {}), limit=10)

    def _action_search_arch(self, Partner):
        return etree.fromstring(
            Partner.get_views([(self.action.search_view_id.id, "search")])["views"][
                "search"
            ]["arch"]
        )

    def _action_domain(self, Partner):
        """The action's domain, limited to this test's customers so that
        customers already in the database do not change the counts."""
        return expression.AND(
            [
                self._eval(self.action.domain, Partner),
                [("id", "in", self.customers.ids)],
            ]
        )

    def _eval(self, expr, Partner):
        """Evaluate a domain or context string of a view as the web client does."""
        return safe_eval(
            expr,
            {
                "context_today": lambda: fields.Date.context_today(Partner),
                "datetime": safe_datetime,
                "uid": Partner.env.uid,
            },
        )

    # views ---------------------------------------------------------------

    def test_every_view_loads(self):
        for user in (self.admin, self.rep):
            with self.subTest(user=user.login):
                Partner = self.env["res.partner"].with_user(user)
                for view in self.action.view_ids:
                    self.assertTrue(
                        self._read_view_fields(
                            Partner, view.view_id.id, view.view_mode, []
                        )["length"]
                    )
                loaded = Partner.get_views(
                    [
                        (self.action.search_view_id.id, "search"),
                        (False, "form"),
                        (False, "list"),
                        (False, "kanban"),
                    ]
                )["views"]
                form = etree.fromstring(loaded["form"]["arch"])
                self.assertTrue(
                    form.xpath(
                        "//page[@name='retention']//field[@name='retention_reason']"
                    )
                )
                self.assertTrue(
                    form.xpath(
                        "//page[@name='retention']//button[@name='action_retention_recompute']"
                    )
                )
                search = etree.fromstring(loaded["search"]["arch"])
                self.assertEqual(
                    search.xpath("//searchpanel/field/@name"),
                    ["retention_status", "retention_alert"],
                )
                self.assertIn(
                    "retention_status", loaded["list"]["arch"]
                )  # the Contacts list columns
                self._read_view_fields(
                    Partner, False, "form", [("id", "=", self.late.id)]
                )
        Settings = self.env["res.config.settings"]
        settings = Settings.with_user(self.admin).get_views([(False, "form")])["views"][
            "form"
        ]["arch"]
        for name in (
            "retention_lookback_days",
            "retention_at_risk_factor",
            "retention_min_at_risk_days",
            "retention_dormant_days",
            "retention_lost_days",
            "action_retention_recompute",
        ):
            self.assertIn(name, settings)
        # Thresholds are for administrators only.
        with self.assertRaises(AccessError):
            Settings.with_user(self.rep).get_views([(False, "form")])

    def test_user_without_sales_rights(self):
        """A contact-only user opens Contacts as before: no retention column,
        tab or filter, and nothing they read raises an access error."""
        Partner = self.env["res.partner"].with_user(self.clerk)
        loaded = Partner.get_views(
            [(False, "list"), (False, "form"), (False, "search"), (False, "kanban")]
        )
        for view_type, view in loaded["views"].items():
            self.assertNotIn("retention_", view["arch"], view_type)
        self._read_view_fields(Partner, False, "list", [])
        self._read_view_fields(Partner, False, "form", [("id", "=", self.late.id)])
        self.assertNotIn(
            self.menu.id,
            self.env["ir.ui.menu"].with_user(self.clerk)._visible_menu_ids(),
        )
        visible = self.env["ir.ui.menu"].with_user(self.rep)._visible_menu_ids()
        self.assertIn(self.menu.id, visible)
        # One entry in the Sales menu bar holds the customers and the campaigns.
        root = self.env.ref("customer_retention.menu_customer_retention_root")
        campaigns = self.env.ref("customer_retention.menu_retention_sms_campaign")
        self.assertEqual((self.menu | campaigns).parent_id, root)
        self.assertEqual(root.parent_id, self.env.ref("sale.sale_menu_root"))
        self.assertIn(campaigns.id, visible)

    # the menu action -----------------------------------------------------

    def test_action_opens_on_the_at_risk_alert(self):
        Partner = self.env["res.partner"].with_user(self.rep)
        domain = self._action_domain(Partner)
        context = self._eval(self.action.context, Partner)
        Partner = Partner.with_context(**context)
        search = self._action_search_arch(Partner)
        # Every search_default_* of the action names a filter of its search view.
        default_domains = []
        for key in filter(lambda key: key.startswith("search_default_"), context):
            name = key.removeprefix("search_default_")
            (node,) = search.xpath(f"//filter[@name='{name}']")
            default_domains.append(self._eval(node.get("domain"), Partner))
        listed = Partner.search(self._eval(self.action.domain, Partner))
        self.assertEqual(listed & (self.customers | self.prospect), self.customers)
        opened = Partner.web_search_read(
            expression.AND([domain, *default_domains]),
            {
                "display_name": {},
                "retention_status": {},
                "retention_alert": {},
                "retention_reason": {},
            },
            order="retention_revenue desc",
        )
        self.assertEqual([r["id"] for r in opened["records"]], self.late.ids)
        self.assertEqual(opened["records"][0]["retention_alert"], "at_risk")

    def test_kanban_columns_follow_the_status_order(self):
        kanban = etree.fromstring(
            self.env["res.partner"].get_views(
                [
                    (
                        self.action.view_ids.filtered(
                            lambda v: v.view_mode == "kanban"
                        ).view_id.id,
                        "kanban",
                    )
                ]
            )["views"]["kanban"]["arch"]
        )
        group_by = kanban.get("default_group_by")
        self.assertEqual(group_by, "retention_status")
        self.assertEqual(kanban.get("records_draggable"), "0")
        domain = self._action_domain(self.env["res.partner"])
        groups = (
            self.env["res.partner"]
            .with_user(self.rep)
            .web_read_group(domain, [group_by], [group_by])["groups"]
        )
        self.assertEqual([g[group_by] for g in groups], STATUS_ORDER)
        self.assertEqual([g[f"{group_by}_count"] for g in groups], [1, 1, 1, 1])
        # Empty columns stay, in order, under the default At Risk alert filter.
        groups = (
            self.env["res.partner"]
            .with_user(self.rep)
            .web_read_group(
                expression.AND([domain, [("retention_alert", "=", "at_risk")]]),
                [group_by],
                [group_by],
            )["groups"]
        )
        self.assertEqual(
            [(g[group_by], g[f"{group_by}_count"]) for g in groups],
            [("new", 0), ("active", 0), ("at_risk", 1), ("lost", 0)],
        )

    def test_search_panel_counts(self):
        Partner = self.env["res.partner"].with_user(self.rep)
        domain = self._action_domain(Partner)

        def panel(select, field):
            """A section of the side panel as the web client asks for it: with
            counters, empty values kept."""
            return select(
                field, enable_counters=True, expand=True, search_domain=domain
            )["values"]

        status = panel(Partner.search_panel_select_range, "retention_status")
        self.assertEqual(
            [(v["id"], v["__count"]) for v in status], [(s, 1) for s in STATUS_ORDER]
        )
        alerts = panel(Partner.search_panel_select_multi_range, "retention_alert")
        self.assertEqual(
            [v["id"] for v in alerts], ["opportunity", "at_risk", "monitor"]
        )
        self.assertEqual(dict((v["id"], v["__count"]) for v in alerts)["at_risk"], 1)

    def test_pivot_measures_aggregate(self):
        Partner = self.env["res.partner"].with_user(self.rep)
        described = Partner.fields_get(
            ["retention_revenue", "retention_avg_ticket"], ["aggregator"]
        )
        self.assertEqual(described["retention_revenue"]["aggregator"], "sum")
        self.assertEqual(described["retention_avg_ticket"]["aggregator"], "avg")
        # As the pivot asks: rows status, columns tier, measures count, revenue,
        # average ticket.
        domain = self._action_domain(Partner)
        measures = ["__count", "retention_revenue:sum", "retention_avg_ticket:avg"]
        (total,) = Partner.read_group(domain, measures, [], lazy=False)
        # Revenue 500 + 600 + 50 + 100; average tickets (100 + 200 + 50 + 100) / 4.
        self.assertEqual(total["__count"], 4)
        self.assertAlmostEqual(total["retention_revenue"], 1250.0)
        self.assertAlmostEqual(total["retention_avg_ticket"], 112.5)
        cells = Partner.read_group(
            domain, measures, ["retention_status", "retention_group_tier"], lazy=False
        )
        by_status = {g["retention_status"]: g["retention_revenue"] for g in cells}
        self.assertEqual(
            by_status, {"new": 50.0, "active": 500.0, "at_risk": 600.0, "lost": 100.0}
        )

    def test_every_filter_runs(self):
        """Each filter and group-by of the search view, evaluated as the web
        client does (context_today included), runs against the database."""
        Partner = self.env["res.partner"].with_user(self.rep)
        search = self._action_search_arch(Partner)
        base = self._action_domain(Partner)
        found = {}
        for node in search.xpath("//filter[@domain]"):
            domain = self._eval(node.get("domain"), Partner)
            found[node.get("name")] = Partner.search(expression.AND([base, domain]))
        grouped = {}
        for node in search.xpath("//filter[@context]"):
            group_by = self._eval(node.get("context"), Partner)["group_by"]
            groups = Partner.web_read_group(base, [group_by], [group_by])["groups"]
            grouped[node.get("name")] = {
                group[group_by]: group[f"{group_by}_count"]
                for group in groups
                if group[f"{group_by}_count"]
            }
        # Revenue in Poland: Late 600 (top 25%), Steady 500 (top 50%), Gone
        # 100 and Newcomer 50 (below the median). Steady has 5 visits in a
        # year: frequent; Late, 3 visits all of one category: category-
        # focused; Newcomer and Gone, one visit each: one-time. Alerts:
        # Late at risk; Steady (frequent) and Newcomer (one-time) are
        # opportunities; Gone is lost, past any alert.
        self.assertEqual(
            grouped["group_retention_status"],
            {"new": 1, "active": 1, "at_risk": 1, "lost": 1},
        )
        self.assertEqual(
            grouped["group_retention_alert"], {"at_risk": 1, "opportunity": 2, False: 1}
        )
        self.assertEqual(
            grouped["group_retention_profile"],
            {"one_time": 2, "frequent": 1, "category_focused": 1},
        )
        self.assertEqual(
            grouped["group_retention_tier"], {"top25": 1, "top50": 1, "below": 2}
        )
        self.assertEqual(grouped["group_industry"], {False: 4})
        self.assertEqual(found["retention_new"], self.newcomer)
        self.assertEqual(found["retention_active"], self.steady)
        self.assertEqual(found["retention_at_risk"], self.late)
        self.assertEqual(found["retention_lost"], self.gone)
        self.assertEqual(found["alert_at_risk"], self.late)
        # Overdue: Late's next order was due 70 days ago; Steady's is due in 20
        # days; the newcomer has no rhythm yet; lost customers are not chased.
        self.assertEqual(found["retention_overdue"], self.late)
        # None of the customers has a phone number.
        self.assertEqual(found["no_phone"], self.customers)

    def test_the_private_orm_hooks_still_exist(self):
        # Statuses, tiers and alerts sort in business order through two
        # private methods of Odoo's ORM that res.partner overrides. If a
        # new Odoo renames them or changes their arguments, the overrides
        # would silently stop working: fail here instead.
        self.assertEqual(
            list(signature(BaseModel._read_group_orderby).parameters),
            ["self", "order", "groupby_terms", "query"],
        )
        self.assertEqual(
            list(signature(BaseModel._order_field_to_sql).parameters),
            ["self", "alias", "field_name", "direction", "nulls", "query"],
        )
        Partner = self.env["res.partner"].with_user(self.rep)
        domain = [("id", "in", self.customers.ids)]
        # Sorted by status: New, Active, At risk, Lost (not alphabetical).
        ordered = Partner.search(domain, order="retention_status")
        self.assertEqual(
            ordered.mapped("name"),
            ["Newcomer Cafe", "Steady Salon", "Late Garage", "Long Gone Bakery"],
        )
        groups = Partner.read_group(domain, ["retention_status"], ["retention_status"])
        self.assertEqual([group["retention_status"] for group in groups], STATUS_ORDER)


@tagged("post_install", "-at_install")
class TestSelections(RetentionCase):
    """Odoo reflects, and so labels and translates, only the selections
    given as lists: one given as a tuple showed blank cells to every user
    with a language (the back-test's rules did)."""

    def test_every_selection_of_the_addon_has_its_labels(self):
        models = self.env["ir.model.data"].search(
            [("module", "=", "customer_retention"), ("model", "=", "ir.model")]
        )
        names = self.env["ir.model"].browse(models.mapped("res_id")).mapped("model")
        names += ["res.partner", "res.company", "res.config.settings"]
        checked = 0
        for name in names:
            Model = self.env[name].with_context(lang="en_US")
            for field_name, field in Model._fields.items():
                if field.type != "selection" or field._module != "customer_retention":
                    continue
                with self.subTest(model=name, field=field_name):
                    description = Model.fields_get([field_name], ["selection"])
                    self.assertTrue(description[field_name]["selection"])
                    checked += 1
        self.assertGreater(checked, 20)
        # The one that was blank: the rules of a back-test, by their label.
        rule = dict(
            self.env["retention.backtest.rule"]
            .with_context(lang="en_US")
            .fields_get(["rule"], ["selection"])["rule"]["selection"]
        )
        self.assertEqual(rule["days_60"], "More than 60 days since the last visit")
