# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from . import retention_sources


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def init(self):
        res = super().init()
        # sales orders changed since a run
        retention_sources.create_change_index(self.env.cr, self._table)
        return res

    def write(self, vals):
        if "partner_id" not in vals:
            return super().write(vals)
        # given to another customer: the one it leaves changes too
        with self.env["retention.moved.customer"]._watch_documents(self):
            return super().write(vals)

    def _register_hook(self):
        res = super()._register_hook()
        # Point-of-sale orders are a source without being a dependency: no
        # model of this addon extends pos.order to declare their index on.
        # Every registry load (after installing either addon, at start-up)
        # makes it if missing.
        retention_sources.create_pos_change_index(self.env)
        return res
