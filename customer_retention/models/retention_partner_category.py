# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What each customer buys: one row per company, customer and product
category bought, written by the nightly run (engine/summary.py). It answers
"bought category X" in the partner filters, the categories on the customer's
summary, and the category gap report, without reading the order lines."""

from odoo import fields, models


class RetentionPartnerCategory(models.Model):
    _name = "retention.partner.category"
    _description = "Product Category Bought by a Customer"
    _order = "revenue desc, categ_id"
    _rec_name = "categ_id"
    # Written in bulk by SQL only.
    _log_access = False

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        "res.partner", required=True, readonly=True, ondelete="cascade"
    )
    categ_id = fields.Many2one(
        "product.category",
        string="Product Category",
        required=True,
        readonly=True,
        ondelete="cascade",
    )
    revenue = fields.Float(
        readonly=True, help="Untaxed sales of the category, net of refunds."
    )
    visits = fields.Integer(readonly=True, help="Days with an order of the category.")
    last_date = fields.Date(string="Last Bought", readonly=True)

    _sql_constraints = [
        (
            "company_partner_categ_uniq",
            "unique(company_id, partner_id, categ_id)",
            "A customer has one row per product category and company.",
        )
    ]

    def init(self):
        # "Bought category X" and the gap report: the buyers of a category.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_partner_category_categ_idx
                ON retention_partner_category (company_id, categ_id, partner_id)
            """
        )
