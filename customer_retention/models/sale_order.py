# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models
from odoo.tools.sql import create_index


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def init(self):
        res = super().init()
        # The hourly retention update looks for the sale order records of a
        # company written since its last run: without this, a scan of the table.
        create_index(
            self.env.cr,
            "sale_order_retention_company_write_date_idx",
            self._table,
            ["company_id", "write_date"],
        )
        return res
