# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime, time

from odoo.tests import TransactionCase

AS_OF = date(2025, 6, 30)


class RetentionCase(TransactionCase):
    """Real orders in a real database; helpers keep scenarios readable."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.poland = cls.env.ref("base.pl")
        cls.germany = cls.env.ref("base.de")
        cls.category_service = cls.env["product.category"].create({"name": "Service"})
        cls.category_tyres = cls.env["product.category"].create({"name": "Tyres"})
        cls.service = cls._product("Car wash", cls.category_service)
        cls.tyres = cls._product("Winter tyres", cls.category_tyres)

    @classmethod
    def _product(cls, name, category):
        return cls.env["product.product"].create(
            {"name": name, "type": "service", "categ_id": category.id, "list_price": 1.0}
        )

    @classmethod
    def _customer(cls, name, country=None, **values):
        return cls.env["res.partner"].create(
            {"name": name, "country_id": (country or cls.poland).id, **values}
        )

    @classmethod
    def _order(cls, partner, day, amount, product=None, company=None, pricelist=None, confirm=True):
        """A sales order of ``amount`` untaxed, confirmed on ``day`` at noon
        UTC (action_confirm stamps the current time, so the date is set after)."""
        company = company or cls.company
        values = {
            "partner_id": partner.id,
            "company_id": company.id,
            "order_line": [(0, 0, {
                "product_id": (product or cls.service).id,
                "product_uom_qty": 1,
                "price_unit": amount,
                "tax_id": [(6, 0, [])],
            })],
        }
        if pricelist:
            values["pricelist_id"] = pricelist.id
        order = cls.env["sale.order"].with_company(company).create(values)
        if confirm:
            order.action_confirm()
        order.date_order = datetime.combine(day, time(12, 0))
        return order

    def recompute(self, as_of=AS_OF):
        return self.env["res.partner"].retention_recompute(as_of=as_of)

    def assertRetention(self, partner, company=None, **expected):
        """Compare retention fields (without their prefix) as the given
        company sees them."""
        partner = partner.with_company(company or self.company)
        actual = {name: partner[f"retention_{name}"] for name in expected}
        for name, value in expected.items():
            if isinstance(value, float):
                self.assertAlmostEqual(actual[name], value, places=2, msg=f"{partner.name}: {name}")
            else:
                self.assertEqual(actual[name], value, f"{partner.name}: {name}")
