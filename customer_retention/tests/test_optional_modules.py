# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the summary and the segments read from modules the addon does not
depend on: the loyalty points of Odoo's loyalty app, the gender and the
birthdate of OCA's partner_contact_gender and partner_contact_birthdate.
The test runner's second pass installs them (tests/run.py); without them
these tests skip and the first pass proves the addon works alone."""

from datetime import date

from odoo.tests import tagged

from .common import AS_OF
from .test_history import HistoryCase


class OptionalCase(HistoryCase):
    REQUIRED = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.anna = cls._customer("Anna Nowak")
        cls.piotr = cls._customer("Piotr Kowalski")
        cls.ewa = cls._customer("Ewa Lis")
        cls._orders(
            [
                (partner, AS_OF, 100.0, None, None)
                for partner in (cls.anna, cls.piotr, cls.ewa)
            ]
        )

    def setUp(self):
        super().setUp()
        missing = [name for name in self.REQUIRED if name not in self.env]
        if missing:
            self.skipTest(f"not installed here: {', '.join(missing)} (second pass)")


@tagged("post_install", "-at_install")
class TestLoyaltyPoints(OptionalCase):
    REQUIRED = ("loyalty.card",)

    def _program(self, company, name):
        return self.env["loyalty.program"].create(
            {"name": name, "program_type": "loyalty", "company_id": company.id}
        )

    def test_points_left_on_the_company_cards(self):
        own = self._program(self.company, "Salon Points")
        other = self._program(self.other_company, "Second Shop Points")
        cards = self.env["loyalty.card"]
        cards.create({"program_id": own.id, "partner_id": self.anna.id, "points": 120})
        cards.create({"program_id": own.id, "partner_id": self.anna.id, "points": 30})
        cards.create(
            {"program_id": other.id, "partner_id": self.anna.id, "points": 999}
        )
        anna = self.anna.with_user(self.rep).with_company(self.company)
        # 120 + 30 on this company's program; the second shop's are its own.
        self.assertTrue(anna.retention_loyalty_enabled)
        self.assertEqual(anna.retention_loyalty_points, 150.0)
        self.assertEqual(
            self.anna.with_company(self.other_company).retention_loyalty_points, 999.0
        )
        self.assertEqual(self.piotr.with_user(self.rep).retention_loyalty_points, 0.0)


@tagged("post_install", "-at_install")
class TestGenderAndAge(OptionalCase):
    REQUIRED = ()

    def setUp(self):
        super().setUp()
        fields = self.env["res.partner"]._fields
        if "gender" not in fields or "birthdate_date" not in fields:
            self.skipTest("OCA's partner_contact_gender/birthdate: second pass")

    def test_group_by_gender_and_age_band(self):
        # Ages on AS_OF (2025-06-30): Anna 34 (born 1990-07-01, birthday
        # tomorrow), Piotr 35 (1990-06-30, birthday today), Ewa 52.
        self.anna.write({"gender": "female", "birthdate_date": date(1990, 7, 1)})
        self.piotr.write({"gender": "male", "birthdate_date": date(1990, 6, 30)})
        self.ewa.write({"gender": "female", "birthdate_date": date(1973, 1, 15)})
        self._run(AS_OF)
        partners = self.env["res.partner"].with_user(self.rep)
        domain = [("id", "in", (self.anna | self.piotr | self.ewa).ids)]
        bands = dict(partners._read_group(domain, ["retention_age_band"], ["__count"]))
        self.assertEqual(bands, {30: 1, 35: 1, 50: 1})
        self.assertEqual(self.anna.with_user(self.rep).retention_age_band, 30)
        women = dict(
            partners._read_group(
                [*domain, ("gender", "=", "female")],
                ["retention_status"],
                ["__count"],
            )
        )
        self.assertEqual(women, {"new": 2})
        thirties = partners.search([*domain, ("retention_age_band", "in", [30, 35])])
        self.assertEqual(thirties, self.anna | self.piotr)

    def test_the_search_view_offers_the_groupings(self):
        arch = (
            self.env["res.partner"]
            .with_user(self.rep)
            .get_views([(False, "search")])["views"]["search"]["arch"]
        )
        self.assertIn('name="group_retention_gender"', arch)
        self.assertIn('name="group_retention_age_band"', arch)


@tagged("post_install", "-at_install")
class TestWithoutOptionalModules(OptionalCase):
    def test_no_grouping_on_fields_that_are_not_there(self):
        fields = self.env["res.partner"]._fields
        if "gender" in fields or "birthdate_date" in fields:
            self.skipTest("OCA's partner_contact_gender/birthdate are installed here")
        arch = (
            self.env["res.partner"]
            .with_user(self.rep)
            .get_views([(False, "search")])["views"]["search"]["arch"]
        )
        self.assertNotIn("group_retention_gender", arch)
        self.assertNotIn("group_retention_age_band", arch)
        partners = self.env["res.partner"].with_user(self.rep)
        # No birthdate: every customer in the "no age" group.
        bands = dict(
            partners._read_group(
                [("id", "in", (self.anna | self.piotr).ids)],
                ["retention_age_band"],
                ["__count"],
            )
        )
        self.assertEqual(bands, {False: 2})
        if "loyalty.card" not in self.env:
            self.assertFalse(self.anna.with_user(self.rep).retention_loyalty_enabled)
