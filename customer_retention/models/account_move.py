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
        self.env["retention.moved.customer"]._record_documents(self, vals)
        return super().write(vals)
