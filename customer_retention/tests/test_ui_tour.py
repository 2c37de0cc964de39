# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestUiTour(HttpCase):
    """A salesperson in a real browser: Sales > Customer Retention, filter At
    Risk, queue a win-back SMS to the selected customer, kanban, pivot, a
    customer's Retention tab and its Recompute now, then the campaign."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        today = fields.Date.context_today(env["res.partner"])
        product = env["product.product"].create(
            {"name": "Wash", "type": "service", "list_price": 50}
        )

        def order(partner, days_ago, amount):
            sale = env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [
                        (
                            0,
                            0,
                            {
                                "product_id": product.id,
                                "price_unit": amount,
                                "tax_id": [(6, 0, [])],
                            },
                        )
                    ],
                }
            )
            sale.action_confirm()
            sale.date_order = fields.Datetime.to_datetime(
                today - timedelta(days=days_ago)
            )

        overdue = env["res.partner"].create(
            {
                "name": "Overdue Garage",
                "is_company": True,
                "mobile": "+48 512 345 678",
            }
        )
        for days_ago in (160, 130, 100):
            order(overdue, days_ago, 200)  # every 30 days, silent for 100: at risk
        loyal = env["res.partner"].create({"name": "Loyal Salon", "is_company": True})
        for days_ago in (100, 70, 40, 10):
            order(loyal, days_ago, 80)
        env["res.partner"].retention_recompute(as_of=today)
        # the SMS step must queue at once whatever the hour CI runs at
        env.company.write(
            {"retention_sms_quiet_start": 0, "retention_sms_quiet_end": 0}
        )
        cls.rep = new_test_user(
            env,
            "retention_tour_rep",
            password="retention_tour_rep",
            groups="sales_team.group_sale_salesman",
            tour_enabled=False,
        )

    def test_salesperson_call_tour(self):
        """A customer's summary, then a win-back call planned and its
        outcome recorded, as the customer's salesperson."""
        overdue = self.env["res.partner"].search([("name", "=", "Overdue Garage")])
        overdue.user_id = self.rep
        self.start_tour(
            "/odoo",
            "customer_retention_call_tour",
            login="retention_tour_rep",
            timeout=120,
        )
        call = self.env["retention.call"].search([("partner_id", "=", overdue.id)])
        self.assertEqual(len(call), 1)
        self.assertEqual(
            (call.user_id, call.state, call.outcome), (self.rep, "done", "pause")
        )
        activities = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", overdue.id)]
        )
        self.assertFalse(activities, "the call's activity is done")

    def test_salesperson_analysis_tour(self):
        """Retention Analysis as a salesperson: who came back, the customers
        of a cell who did not, the cohorts and the weekly pulse."""
        self.start_tour(
            "/odoo",
            "customer_retention_analysis_tour",
            login="retention_tour_rep",
            timeout=120,
        )

    def test_salesperson_tour(self):
        self.start_tour(
            "/odoo", "customer_retention_tour", login="retention_tour_rep", timeout=120
        )
        campaign = self.env["retention.sms.campaign"].search(
            [("user_id", "=", self.rep.id)]
        )
        self.assertEqual(campaign.partner_ids.mapped("name"), ["Overdue Garage"])
        sms = self.env["sms.sms"].search(
            [("partner_id", "in", campaign.partner_ids.ids)]
        )
        self.assertEqual((sms.number, sms.state), ("+48512345678", "outgoing"))

    def test_first_run_progress_above_the_list(self):
        """A first run stopped half-way (one of the two customers written, no
        run ended yet): the list shows the customer done and says how far
        the first computation has got, also after another search."""
        run = self.env.company._retention_run()
        run.sudo().last_run = False
        loyal = self.env["res.partner"].search([("name", "=", "Loyal Salon")])
        self.env.cr.execute(
            "DELETE FROM retention_partner_state WHERE partner_id = %s", [loyal.id]
        )
        Partner = self.env["res.partner"].with_user(self.rep)
        self.assertIn("1 of about 2", Partner.retention_first_run_notice())
        self.start_tour(
            "/odoo",
            "customer_retention_first_run_tour",
            login="retention_tour_rep",
            timeout=120,
        )
        run.sudo().last_run = fields.Datetime.now()
        self.assertFalse(Partner.retention_first_run_notice())

    def test_list_fits_a_laptop_in_english_and_polish(self):
        """The Customer Retention list at 1,366 x 768 (the test browser's
        size): no header, customer name or reason cut, no sideways scroll,
        in English and in Polish, whose words are longer."""
        self.start_tour(
            "/odoo",
            "customer_retention_list_fit_tour",
            login="retention_tour_rep",
            timeout=120,
        )
        self.env["res.lang"]._activate_lang("pl_PL")
        self.env["ir.module.module"]._load_module_terms(
            ["base", "web", "sale", "customer_retention"], ["pl_PL"]
        )
        new_test_user(
            self.env,
            "retention_tour_rep_pl",
            password="retention_tour_rep_pl",
            groups="sales_team.group_sale_salesman",
            tour_enabled=False,
            lang="pl_PL",
        )
        self.start_tour(
            "/odoo",
            "customer_retention_list_fit_tour",
            login="retention_tour_rep_pl",
            timeout=120,
        )
