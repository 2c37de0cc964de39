# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class MailActivity(models.Model):
    _inherit = "mail.activity"

    def _retention_open_calls(self):
        """The open win-back calls of these activities."""
        activities = self.filtered(lambda activity: activity.res_model == "res.partner")
        if not activities:
            return self.env["retention.call"]
        # sudo: whoever may close or delete the activity moves its call along,
        # also a user who may not read retention calls.
        return (
            self.env["retention.call"]
            .sudo()
            .search([("activity_id", "in", activities.ids), ("state", "=", "planned")])
        )

    def _action_done(self, feedback=False, attachment_ids=None):
        # Done from the chatter or the activity menu: the call is done, its
        # outcome can be recorded afterwards.
        self._retention_open_calls()._mark_done()
        return super()._action_done(feedback=feedback, attachment_ids=attachment_ids)

    def unlink(self):
        # Deleted (cancelled) without being done: the plan is cancelled, and
        # the customer may be planned again.
        self._retention_open_calls().write({"state": "cancelled"})
        return super().unlink()

    def write(self, vals):
        result = super().write(vals)
        if vals.get("user_id"):
            # Reassigned in the chatter: the call follows its activity.
            self._retention_open_calls().write({"user_id": vals["user_id"]})
        return result
