# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    def _prepare_body_values(self, records):
        # Win-back SMS are rendered once, with their author's rights, when
        # the campaign is queued (retention.sms.wizard), and sent later as
        # they were rendered then: never rendered a second time, least of all
        # by the release job that runs as superuser. The texts come from
        # retention.sms.campaign._send_lines; a caller who passes its own only
        # skips the rendering of texts it wrote itself.
        bodies = self.env.context.get("retention_sms_bodies")
        if bodies is None:
            return super()._prepare_body_values(records)
        return {record.id: bodies[record.id] for record in records}
