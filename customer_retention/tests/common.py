# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from contextlib import contextmanager
from datetime import date, datetime, time

from freezegun import freeze_time

from odoo.tests import TransactionCase, new_test_user

from odoo.addons.sms.tests.common import SMSCase

AS_OF = date(2025, 6, 30)


def _order_spec(partner, day, amount=100.0, salesperson=None):
    return partner, day, amount, salesperson


class CompanyUsers:
    """Users confined to the test company (``cls.company``)."""

    @classmethod
    def _user(cls, login, groups):
        """A user of ``cls.company`` alone, in ``groups`` (comma-separated
        XML ids)."""
        return new_test_user(
            cls.env,
            login,
            groups=groups,
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )


class RetentionCase(CompanyUsers, TransactionCase):
    """Real orders in a real database; helpers keep scenarios readable.
    The clock stands at noon (UTC) of AS_OF: days since the last order,
    overdue and the reason are read as of today, and today is AS_OF."""

    @classmethod
    def setUpClass(cls):
        cls.startClassPatcher(freeze_time(datetime.combine(AS_OF, time(12, 0))))
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
            {
                "name": name,
                "type": "service",
                "categ_id": category.id,
                "list_price": 1.0,
            }
        )

    @classmethod
    def _customer(cls, name, country=None, **values):
        return cls.env["res.partner"].create(
            {"name": name, "country_id": (country or cls.poland).id, **values}
        )

    @classmethod
    def _order(
        cls,
        partner,
        day,
        amount,
        product=None,
        company=None,
        pricelist=None,
        confirm=True,
    ):
        """A sales order of ``amount`` untaxed, confirmed on ``day`` at noon
        UTC (action_confirm stamps the current time, so the date is set after)."""
        company = company or cls.company
        values = {
            "partner_id": partner.id,
            "company_id": company.id,
            "order_line": [
                (
                    0,
                    0,
                    {
                        "product_id": (product or cls.service).id,
                        "product_uom_qty": 1,
                        "price_unit": amount,
                        "tax_id": [(6, 0, [])],
                    },
                )
            ],
        }
        if pricelist:
            values["pricelist_id"] = pricelist.id
        order = cls.env["sale.order"].with_company(company).create(values)
        if confirm:
            order.action_confirm()
        order.date_order = datetime.combine(day, time(12, 0))
        return order

    @classmethod
    def _confirmed_orders(cls, specs, company=None):
        """Confirmed orders, made at once, from (partner, day[, amount[,
        salesperson]]) (amount 100 by default; no salesperson: none at all),
        each dated at noon UTC of its day."""
        company = company or cls.company
        specs = [_order_spec(*spec) for spec in specs]
        orders = (
            cls.env["sale.order"]
            .with_company(company)
            .create(
                [
                    {
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "user_id": seller.id if seller else False,
                        "order_line": [
                            (
                                0,
                                0,
                                {
                                    "product_id": cls.service.id,
                                    "product_uom_qty": 1,
                                    "price_unit": amount,
                                    "tax_id": [(6, 0, [])],
                                },
                            )
                        ],
                    }
                    for partner, _day, amount, seller in specs
                ]
            )
        )
        orders.action_confirm()
        for order, (_partner, day, *_rest) in zip(orders, specs, strict=True):
            order.date_order = datetime.combine(day, time(12, 0))
        return orders

    def recompute(self, as_of=AS_OF):
        return self.env["res.partner"].retention_recompute(as_of=as_of)

    def assertRetention(self, partner, company=None, **expected):
        """Compare retention fields (without their prefix) as the given
        company sees them."""
        partner = partner.with_company(company or self.company)
        actual = {name: partner[f"retention_{name}"] for name in expected}
        for name, value in expected.items():
            if isinstance(value, float):
                self.assertAlmostEqual(
                    actual[name], value, places=2, msg=f"{partner.name}: {name}"
                )
            else:
                self.assertEqual(actual[name], value, f"{partner.name}: {name}")


class RetentionSmsCase(CompanyUsers, SMSCase):
    """Win-back SMS scenarios: one Polish shop, a salesperson, a user
    without sales rights, and a second company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.pl")
        # No control group and no quiet hours unless a test says so: the
        # tests below check who is texted, at any hour CI happens to run.
        cls.company.write(
            {
                "retention_sms_cap_days": 30,
                "retention_sms_holdout_percent": 0,
                "retention_sms_quiet_start": 0,
                "retention_sms_quiet_end": 0,
            }
        )
        cls.poland = cls.env.ref("base.pl")
        cls.ukraine = cls.env.ref("base.ua")
        cls.germany = cls.env.ref("base.de")
        cls.usa = cls.env.ref("base.us")
        cls.other_company = cls.env["res.company"].create(
            {"name": "Other Shop", "country_id": cls.germany.id}
        )
        cls.salesman = cls._user(
            "retention_sms_salesman", "sales_team.group_sale_salesman"
        )
        cls.employee = cls._user("retention_sms_employee", "base.group_user")

    @classmethod
    def _customer(cls, name, country=None, **values):
        return cls.env["res.partner"].create(
            {"name": name, "country_id": country and country.id, **values}
        )

    def _wizard(self, partners, user=None):
        env = self.env(user=user) if user else self.env
        return (
            env["retention.sms.wizard"]
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({})
        )

    @contextmanager
    def _sms_at(self, when):
        """The clock shows ``when`` (UTC) and texts go to the mocked gateway."""
        with self.mock_datetime_and_now(when), self.mockSMSGateway():
            yield

    def _run(self, partners, user=None):
        with self.mockSMSGateway():
            wizard = self._wizard(partners, user)
            campaign = wizard._queue()
        return wizard, campaign

    def _polish_customers(self, count, prefix="Customer"):
        return self.env["res.partner"].create(
            [
                {
                    "name": f"{prefix} {index}",
                    "country_id": self.poland.id,
                    "mobile": f"+48 512 {index:06d}",
                }
                for index in range(count)
            ]
        )

    def _sale(self, partner, when, amount, state="sale"):
        product = self.env["product.product"].create(
            {"name": "Wash", "type": "service"}
        )
        order = self.env["sale.order"].create(
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
        order.action_confirm()
        if state == "cancel":
            order._action_cancel()
        order.date_order = when
        return order
