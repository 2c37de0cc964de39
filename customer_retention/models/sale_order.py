# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from . import retention_store


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def init(self):
        res = super().init()
        retention_store.create_change_index(self)  # sales orders changed since a run
        return res
