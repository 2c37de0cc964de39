# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class MergePartnerAutomatic(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _merge(self, partner_ids, dst_partner=None, extra_checks=True):
        # Merging rewrites the documents' customer in SQL, without writing
        # them: the firms the merged contacts belonged to and the one that
        # stays are recorded for the hourly job and Retention Analysis (see
        # retention.moved.customer); a merged partner that is deleted takes
        # its values and report rows with it.
        Partner = self.env["res.partner"]
        firms = Partner.browse(partner_ids).exists().commercial_partner_id
        result = super()._merge(partner_ids, dst_partner, extra_checks)
        firms = (firms | Partner.browse(partner_ids).exists()).exists()
        # sudo: the bookkeeping of whoever may merge contacts
        self.env["retention.moved.customer"].sudo()._record(
            (None, firm.commercial_partner_id.id) for firm in firms
        )
        return result
