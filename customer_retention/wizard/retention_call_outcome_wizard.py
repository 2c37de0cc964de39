# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models import retention_args
from ..models.retention_call import OUTCOMES


class RetentionCallOutcomeWizard(models.TransientModel):
    _name = "retention.call.outcome.wizard"
    _description = "Record Win-back Call Outcome"

    call_id = fields.Many2one(
        "retention.call", string="Call", required=True, ondelete="cascade"
    )
    # As the user, not as superuser (a related field's default): the call's
    # customer and reason are shown only to who may read the call, also in
    # an onchange, which computes them before any record exists.
    partner_id = fields.Many2one(related="call_id.partner_id", compute_sudo=False)
    reason = fields.Text(related="call_id.reason", compute_sudo=False)
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
        if values.get("call_id"):
            values["call_id"] = self._checked_call(values["call_id"]).id
        return values

    @api.model
    def _checked_call(self, call_id):
        """The call ``call_id``, when the user may record its outcome (write
        it, by the record rules); else an AccessError or UserError, before
        anything of the call is read."""
        if not isinstance(call_id, int) or isinstance(call_id, bool):
            raise UserError(self.env._("The call must be given by its record id."))
        call = self.env["retention.call"].browse(call_id).exists()
        if not call:
            raise UserError(self.env._("This win-back call no longer exists."))
        # Record rules: the assignee (or unassigned), or a sales manager.
        call.check_access("write")
        return call

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("call_id"):
                self._checked_call(vals["call_id"])
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("call_id"):
            self._checked_call(vals["call_id"])
        return super().write(vals)

    def action_confirm(self):
        """Close the call with its outcome: its activity is marked done with
        the outcome as feedback (a message in the customer's chatter), the
        call is done, and an outcome that says so marks the customer."""
        retention_args.one(self)
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
