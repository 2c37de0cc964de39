# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The records the period report names without a foreign key (see
retention.report): when they are deleted, the report forgets them."""

from odoo import models


class ResUsers(models.Model):
    _inherit = "res.users"

    def unlink(self):
        # sudo: the report's rows are the run's, not the deleting user's
        self.env["retention.report"].sudo()._forget("user_id", self.ids)
        return super().unlink()


class CrmTeam(models.Model):
    _inherit = "crm.team"

    def unlink(self):
        # sudo: the report's rows are the run's, not the deleting user's
        self.env["retention.report"].sudo()._forget("team_id", self.ids)
        return super().unlink()
