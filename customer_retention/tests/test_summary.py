# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The customer in one look and the segments: written by the nightly run,
read as a salesperson, in a company on Warsaw's clock, with a second
company present."""

import ast
from datetime import date, datetime, time, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models import retention_history, retention_summary
from .common import AS_OF
from .test_history import HistoryCase


@tagged("post_install", "-at_install")
class TestCustomerSummary(HistoryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.instagram = cls.env["utm.source"].create({"name": "Instagram"})
        cls.team_centre = cls.env["crm.team"].create({"name": "Centre Branch"})
        cls.team_mall = cls.env["crm.team"].create({"name": "Mall Branch"})
        cls.anna = cls._customer("Anna Nowak")
        # Anna, all on Mondays, in Warsaw time (CET +1 in March, CEST +2 after):
        #   2025-03-03 07:30 UTC = 08:30  Karolina, Centre, Service 100, Instagram
        #   2025-04-07 06:00 UTC = 08:00  Marta, Mall, Tyres 300
        #   2025-05-05 16:00 UTC = 18:00  Marta, Mall, Service 50
        cls._timed_order(
            cls.anna,
            datetime(2025, 3, 3, 7, 30),
            100.0,
            user=cls.karolina,
            team=cls.team_centre,
            source=cls.instagram,
        )
        cls._timed_order(
            cls.anna,
            datetime(2025, 4, 7, 6, 0),
            300.0,
            product=cls.tyres,
            user=cls.marta,
            team=cls.team_mall,
        )
        cls._timed_order(
            cls.anna,
            datetime(2025, 5, 5, 16, 0),
            50.0,
            user=cls.marta,
            team=cls.team_mall,
        )
        # Late-evening orders: Sunday in UTC, Monday in Warsaw.
        #   2025-06-22 21:30 UTC = Monday 06-23 23:30 (evening)
        #   2025-06-29 22:30 UTC = Monday 06-30 00:30 (morning)
        cls.night_owl = cls._customer("Night Owl")
        cls._timed_order(cls.night_owl, datetime(2025, 6, 22, 21, 30), 40.0)
        cls._timed_order(cls.night_owl, datetime(2025, 6, 29, 22, 30), 40.0)
        # Three new customers: one buys both categories, two only services.
        cls.both = cls._customer("Both Categories Ltd", is_company=True)
        cls.buyer = cls.env["res.partner"].create(
            {"name": "Their Buyer", "parent_id": cls.both.id}
        )
        cls.services_1 = cls._customer("Services Only One")
        cls.services_2 = cls._customer("Services Only Two")
        cls._timed_order(cls.both, datetime(2025, 6, 2, 10, 0), 700.0)
        cls._timed_order(
            cls.both, datetime(2025, 6, 16, 10, 0), 900.0, product=cls.tyres
        )
        cls._timed_order(cls.services_1, datetime(2025, 6, 10, 10, 0), 60.0)
        cls._timed_order(cls.services_2, datetime(2025, 6, 11, 10, 0), 70.0)
        # The second company's orders are its own.
        cls._timed_order(
            cls.services_1,
            datetime(2025, 6, 12, 10, 0),
            999.0,
            product=cls.tyres,
            company=cls.other_company,
        )

    @classmethod
    def _timed_order(
        cls,
        partner,
        at_utc,
        amount,
        product=None,
        user=None,
        team=None,
        source=None,
        company=None,
    ):
        order = cls._order(partner, at_utc.date(), amount, product, company=company)
        order.write(
            {
                "date_order": at_utc,
                "user_id": user.id if user else False,
                "team_id": team.id if team else False,
                "source_id": source.id if source else False,
            }
        )
        return order

    def setUp(self):
        super().setUp()
        self._run(AS_OF)
        with freeze_time(datetime.combine(AS_OF, time(12, 0))):
            self.other_company._retention_run_step(budget=1000)

    def _as_rep(self, partner):
        return partner.with_user(self.rep).with_company(self.company)

    def test_summary_of_a_regular_customer(self):
        anna = self._as_rep(self.anna)
        # 100 + 300 + 50.
        self.assertEqual(anna.retention_total_spent, 450.0)
        # Tyres 300 against Service 150.
        self.assertEqual(anna.retention_main_categ_id, self.category_tyres)
        # Marta served two of the three visits.
        self.assertEqual(anna.retention_preferred_user_id, self.marta)
        self.assertEqual(anna.retention_preferred_weekday, "0")
        # 08:30 and 08:00 in Warsaw against 18:00.
        self.assertEqual(anna.retention_preferred_daypart, "morning")
        self.assertEqual(anna.retention_last_team_id, self.team_mall)
        self.assertEqual(anna.retention_first_source_id, self.instagram)
        rows = {
            row.categ_id: (row.revenue, row.visits, row.last_date)
            for row in anna.retention_category_ids
        }
        self.assertEqual(
            rows,
            {
                self.category_service: (150.0, 2, date(2025, 5, 5)),
                self.category_tyres: (300.0, 1, date(2025, 4, 7)),
            },
        )
        self.assertFalse(anna.retention_missing_categ_ids)

    def test_habits_are_on_the_company_clock(self):
        owl = self._as_rep(self.night_owl)
        # Both orders are Sunday evenings in UTC, Mondays in Warsaw.
        self.assertEqual(owl.retention_preferred_weekday, "0")
        # 23:30 and 00:30: one evening, one morning; the latest decides.
        self.assertEqual(owl.retention_preferred_daypart, "morning")

    def test_one_visit_makes_no_habit(self):
        single = self._as_rep(self.services_1)
        self.assertFalse(single.retention_preferred_weekday)
        self.assertFalse(single.retention_preferred_daypart)
        # Only this company's order: not the 999 of the second company.
        self.assertEqual(single.retention_total_spent, 60.0)
        other = self.services_1.with_company(self.other_company)
        self.assertEqual(other.retention_total_spent, 999.0)

    def test_category_gap(self):
        gaps = {
            gap.categ_id: gap
            for gap in self.env["retention.category.gap"]
            .with_user(self.rep)
            .search([("company_id", "=", self.company.id)])
        }
        # Customers who still buy (new or active): Night Owl, Both, Services
        # One and Two = 4; Anna is at risk (56 days against 1.5 x 31.5).
        self.assertEqual(
            self.anna.with_company(self.company).retention_status, "at_risk"
        )
        service, tyres = gaps[self.category_service], gaps[self.category_tyres]
        self.assertEqual(
            (service.customers, service.buyers, service.non_buyers), (4, 4, 0)
        )
        # Tyres: only Both among the 4 (Anna's tyres count for revenue only).
        self.assertEqual((tyres.customers, tyres.buyers, tyres.non_buyers), (4, 1, 3))
        self.assertEqual(tyres.buyer_share, 25.0)
        self.assertTrue(tyres.is_main)
        self.assertEqual(tyres.revenue, 1200.0)
        action = tyres.with_user(self.rep).action_open_non_buyers()
        never = self.env["res.partner"].with_user(self.rep).search(action["domain"])
        self.assertEqual(never, self.night_owl | self.services_1 | self.services_2)
        self.assertEqual(
            self._as_rep(self.services_2).retention_missing_categ_ids,
            self.category_tyres,
        )

    def test_bought_category_filter(self):
        partners = self.env["res.partner"].with_user(self.rep)
        bought = partners.search(
            [("retention_categ_ids", "in", self.category_tyres.ids)]
        )
        # The contact of a company buys with it.
        self.assertEqual(bought, self.anna | self.both | self.buyer)
        by_name = partners.search([("retention_categ_ids", "ilike", "Tyres")])
        self.assertEqual(by_name, bought)
        customers = self.anna | self.night_owl | self.both | self.services_1
        not_bought = partners.search(
            [
                ("id", "in", customers.ids),
                ("retention_categ_ids", "not in", self.category_tyres.ids),
            ]
        )
        self.assertEqual(not_bought, self.night_owl | self.services_1)

    def test_group_by_main_category_and_ticket_band(self):
        self.company.retention_ticket_band_width = 100
        partners = self.env["res.partner"].with_user(self.rep)
        domain = [("retention_status", "!=", False)]
        groups = partners._read_group(domain, ["retention_main_categ_id"], ["__count"])
        # Tyres: Anna (300 of 450) and Both (900 of 1,600); Service: the others.
        self.assertEqual(
            dict(groups), {self.category_tyres: 2, self.category_service: 3}
        )
        bands = dict(
            partners._read_group(domain, ["retention_ticket_band"], ["__count"])
        )
        # Average tickets: Anna 150, Night Owl 40, Both 800, 60, 70.
        self.assertEqual(bands, {100: 1, 0: 3, 800: 1})
        self.assertEqual(self._as_rep(self.both).retention_ticket_band, 800)

    def test_last_order_before_or_after_the_cutoff(self):
        self.company.retention_cutoff_date = date(2025, 6, 1)
        partners = self.env["res.partner"].with_user(self.rep)
        before = partners.search([("retention_last_order_side", "=", "before")])
        self.assertEqual(before, self.anna)
        self.assertEqual(self._as_rep(self.both).retention_last_order_side, "after")

    def test_contacted_recently(self):
        # As the chatter's "Log note" writes them.
        note = {"message_type": "comment", "subtype_xmlid": "mail.mt_note"}
        self.services_1.message_post(body="Called about the winter tyres.", **note)
        old = self.services_2.message_post(body="Talked at the counter.", **note)
        # What Odoo writes by itself is no contact.
        self.both.message_post(body="Address changed.")
        old.date = datetime(2025, 5, 20, 10, 0)  # 41 days before AS_OF
        partners = self.env["res.partner"].with_user(self.rep)
        customers = self.services_1 | self.services_2 | self.both
        recent = partners.search(
            [("id", "in", customers.ids), ("retention_contact", "=", "recent")]
        )
        self.assertEqual(recent, self.services_1)
        quiet = partners.search(
            [("id", "in", customers.ids), ("retention_contact", "=", "quiet")]
        )
        self.assertEqual(quiet, self.both)
        self.assertEqual(self._as_rep(self.services_2).retention_contact, "between")
        groups = dict(
            partners._read_group(
                [("id", "in", customers.ids)], ["retention_contact"], ["__count"]
            )
        )
        self.assertEqual(groups, {"recent": 1, "between": 1, "quiet": 1})

    def test_customers_against_other_partners(self):
        supplier = self.env["res.partner"].create(
            {"name": "Tyre Wholesale", "supplier_rank": 1}
        )
        nobody = self.env["res.partner"].create({"name": "Just a Contact"})
        partners = self.env["res.partner"].with_user(self.rep)
        everyone = supplier | nobody | self.anna | self.karolina.partner_id
        kinds = {
            partner: partner.retention_partner_kind
            for partner in partners.browse(everyone.ids)
        }
        self.assertEqual(
            kinds,
            {
                supplier: "supplier",
                nobody: "other",
                self.anna: "customer",
                self.karolina.partner_id: "employee",
            },
        )
        others = partners.search(
            [("id", "in", everyone.ids), ("retention_partner_kind", "!=", "customer")]
        )
        self.assertEqual(others, supplier | nobody | self.karolina.partner_id)

    def test_retention_by_source(self):
        report = self.env["retention.source.report"].with_user(self.rep)
        groups = report._read_group(
            [("company_id", "=", self.company.id)],
            ["source_id"],
            ["customer_count:sum", "return_rate:avg", "active_rate:avg"],
        )
        by_source = {source: values for source, *values in groups}
        # Instagram brought Anna: she came back (3 visits) but is at risk now.
        self.assertEqual(by_source[self.instagram], [1, 100.0, 0.0])
        # No source: Night Owl (2 visits), Both (2), Services One and Two (1
        # each): 2 of 4 came back, all 4 still buy.
        self.assertEqual(by_source[self.env["utm.source"]], [4, 50.0, 100.0])

    def test_top_spenders(self):
        action = self.env.ref("customer_retention.action_retention_top_spenders")
        partners = self.env["res.partner"].with_user(self.rep)
        top = partners.search(
            ast.literal_eval(action.domain),
            order="retention_total_spent desc",
            limit=3,
        )
        # 1,600, 450, 80.
        self.assertEqual(top, self.both | self.anna | self.night_owl)
        self.assertEqual(list(top), [self.both, self.anna, self.night_owl])

    def test_a_new_order_updates_the_summary_at_once(self):
        self._timed_order(
            self.services_1,
            datetime(2025, 6, 30, 8, 0),
            500.0,
            product=self.tyres,
            user=self.marta,
        )
        self._as_rep(self.services_1).action_retention_recompute()
        single = self._as_rep(self.services_1)
        self.assertEqual(single.retention_total_spent, 560.0)
        self.assertEqual(single.retention_main_categ_id, self.category_tyres)
        self.assertIn(self.category_tyres, single.retention_categ_ids)

    def test_an_order_dated_ahead_counts_from_its_day_unwritten(self):
        # Dated two days ahead (July 2nd) and not written again: nothing of
        # it the next night; the night of its day, the summary and
        # Retention Analysis have it, though no document changed since.
        self._timed_order(
            self.services_2, datetime(2025, 7, 2, 10, 0), 500.0, product=self.tyres
        )
        self._age_orders()
        customer = self._as_rep(self.services_2)
        Report = self.env["retention.report"].with_user(self.rep)
        months = [
            ("partner_id", "=", self.services_2.id),
            ("company_id", "=", self.company.id),
            ("period_type", "=", "month"),
        ]
        self._run(AS_OF + timedelta(days=1))
        self.env.invalidate_all()
        self.assertEqual(customer.retention_total_spent, 70.0)
        self.assertEqual(
            [(row.period_start, row.returned) for row in Report.search(months)],
            [(date(2025, 6, 1), False)],
        )
        self._run(AS_OF + timedelta(days=2))
        self.env.invalidate_all()
        self.assertEqual(customer.retention_total_spent, 570.0)
        self.assertEqual(customer.retention_main_categ_id, self.category_tyres)
        self.assertEqual(
            [
                (row.period_start, row.categ_id, row.returned)
                for row in Report.search(months)
            ],
            [
                (date(2025, 7, 1), self.category_tyres, False),
                (date(2025, 6, 1), self.category_service, True),
            ],
        )

    def test_a_customer_without_orders_any_more_loses_the_summary(self):
        self.env["sale.order"].search(
            [("partner_id", "=", self.services_2.id)]
        ).with_context(disable_cancel_warning=True)._action_cancel()
        self._as_rep(self.services_2).action_retention_recompute()
        self.assertFalse(
            self.env["retention.partner.category"].search(
                [("partner_id", "=", self.services_2.id)]
            )
        )
        self.assertFalse(self._as_rep(self.services_2).retention_total_spent)

    def test_not_for_users_without_sales_rights(self):
        employee = self._user("summary_employee", "base.group_user")
        with self.assertRaises(AccessError):
            self.anna.with_user(employee).read(["retention_total_spent"])
        self.assertFalse(
            "retention_total_spent"
            in self.env["res.partner"].with_user(employee).fields_get()
        )

    def test_an_unchanged_customer_is_not_written_again(self):
        visits = retention_history.extract_visits(self.company, AS_OF)
        self.assertEqual(
            retention_summary.write(self.company, visits, chunk=(0, None)), 0
        )
        # One order more: Anna's summary row and her Service row change.
        self._timed_order(self.anna, datetime(2025, 6, 30, 7, 0), 20.0)
        self.env.flush_all()
        visits = retention_history.extract_visits(self.company, AS_OF)
        self.assertEqual(
            retention_summary.write(self.company, visits, chunk=(0, None)), 2
        )
