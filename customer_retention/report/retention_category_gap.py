# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Category gap: per product category, the active customers who never buy
it ("only haircuts, never a manicure"), so a business sees whether a whole
department is ignored. A small table per company, written at the end of the
nightly run from retention.partner.category (see retention_summary)."""

from odoo import fields, models

from ..engine import rules
from ..models import retention_args

# A category bought by at least this share of the active customers is one of
# the company's main categories: "never bought" on a customer's summary
# lists those only, not every odd category sold once.
MAIN_CATEGORY_SHARE = 0.05


class RetentionCategoryGap(models.Model):
    _name = "retention.category.gap"
    _description = "Active Customers Who Never Buy a Category"
    _order = "non_buyers desc, categ_id"
    _rec_name = "categ_id"
    _log_access = False

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, ondelete="cascade"
    )
    categ_id = fields.Many2one(
        "product.category",
        string="Product Category",
        required=True,
        readonly=True,
        ondelete="cascade",
    )
    customers = fields.Integer(
        string="Active Customers",
        readonly=True,
        aggregator="max",
        help="Customers whose status is New or Active.",
    )
    buyers = fields.Integer(
        readonly=True,
        aggregator="sum",
        help="Active customers who have bought the category at least once.",
    )
    non_buyers = fields.Integer(
        string="Never Bought",
        readonly=True,
        aggregator="sum",
        help="Active customers who have never bought the category.",
    )
    buyer_share = fields.Float(
        string="Buyers (%)", readonly=True, aggregator="avg", digits=(16, 1)
    )
    is_main = fields.Boolean(
        string="Main Category",
        readonly=True,
        help="Bought by at least 5% of the active customers: shown as a gap on "
        "the summary of the customers who never bought it.",
    )
    revenue = fields.Float(
        readonly=True, aggregator="sum", help="Untaxed sales of the category."
    )

    def action_open_non_buyers(self):
        """The active customers who never bought this category, as a partner
        list from which a win-back SMS, a tag or a call plan goes to them."""
        retention_args.one(self)
        return self.env["res.partner"]._retention_customers_action(
            self.env._(
                "Never bought %(category)s", category=self.categ_id.display_name
            ),
            [
                ("retention_status", "in", list(rules.STILL_BUYING)),
                ("retention_categ_ids", "not in", self.categ_id.ids),
            ],
        )
