# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from . import retention_sources


class AccountMove(models.Model):
    _inherit = "account.move"

    def init(self):
        res = super().init()
        # invoices changed since a run
        retention_sources.create_change_index(self.env.cr, self._table)
        return res

    def write(self, vals):
        if "partner_id" not in vals:
            return super().write(vals)
        # given to another customer: the one it leaves changes too
        with self.env["retention.moved.customer"]._watch_documents(self):
            return super().write(vals)
