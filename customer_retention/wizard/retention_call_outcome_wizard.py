# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.retention_call import OUTCOMES


class RetentionCallOutcomeWizard(models.TransientModel):
    _name = "retention.call.outcome.wizard"
    _description = "Record Win-back Call Outcome"

    call_id = fields.Many2one(
        "retention.call", string="Call", required=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(related="call_id.partner_id")
    reason = fields.Text(related="call_id.reason")
    outcome = fields.Selection(OUTCOMES, required=True)
    note = fields.Text(string="Call Notes")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if (
            "call_id" in fields_list
            and not values.get("call_id")
            and context.get("active_model") == "retention.call"
        ):
            values["call_id"] = context.get("active_id")
        return values

    def action_confirm(self):
        """Close the call with its outcome: its activity is marked done with
        the outcome as feedback (a message in the customer's chatter), the
        call is done, and an outcome that says so marks the customer."""
        self.ensure_one()
        call = self.call_id
        # Record rules: the assignee, or a sales manager.
        call.check_access("write")
        if call.state == "cancelled":
            raise UserError(
                self.env._("This call was cancelled: there is no outcome to record.")
            )
        label = dict(self._fields["outcome"]._description_selection(self.env))[
            self.outcome
        ]
        if call.state == "planned":
            feedback = self.env._("Outcome: %(outcome)s", outcome=label)
            if self.note:
                feedback = f"{feedback}\n{self.note}"
            if call.activity_id:
                # As the user: Odoo's own rule lets the assignee close it.
                call.activity_id.action_feedback(feedback=feedback)
            else:
                call._mark_done()
        values = {"outcome": self.outcome}
        if self.note:
            values["note"] = self.note
        call.write(values)
        return {"type": "ir.actions.act_window_close"}
