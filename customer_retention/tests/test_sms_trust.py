# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from odoo.addons.customer_retention.models.retention_sms_campaign import (
    RetentionSmsCampaign,
)

from .common import RetentionSmsCase

SECRET = "{{ object.env['ir.config_parameter'].sudo().get_param('database.secret') }}"
# Warsaw, quiet hours 21:00-09:00: 22:30 local on 2026-03-02 (UTC+1) is held
# until 09:00 local, 08:00 UTC.
NIGHT = datetime(2026, 3, 2, 21, 30)
MORNING = datetime(2026, 3, 3, 8, 0)


@tagged("post_install", "-at_install")
class TestSmsTrust(RetentionSmsCase):
    """The win-back SMS tried as an attacker, a sales rep and an integrator
    would: nobody gets a text or code past the wizard's checks, one number
    gets one text, and the release job renders nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Europe/Warsaw"
        cls.secret = cls.env["ir.config_parameter"].sudo().get_param("database.secret")

    def _night_campaign(self, partners, user=None, body=None):
        """A campaign queued by ``user`` during the quiet hours: held."""
        self.company.write(
            {"retention_sms_quiet_start": 21.0, "retention_sms_quiet_end": 9.0}
        )
        with self._sms_at(NIGHT):
            wizard = self._wizard(partners, user)
            if body is not None:
                wizard.body = body
            campaign = wizard._queue()
            self.assertFalse(self._new_sms)
        self.assertEqual(campaign.state, "held")
        return campaign

    def _release(self):
        with self._sms_at(MORNING):
            self.env["retention.sms.campaign"]._cron_release_held()
            return self._new_sms

    # ------------------------------------------------------------
    # 1. Only the wizard records campaigns; texts are rendered as their author
    # ------------------------------------------------------------

    def test_salesperson_cannot_forge_a_campaign_over_rpc(self):
        # The attack found on main: a held campaign with a line for any
        # partner and a body full of template code, created over RPC.
        victim = self._customer("Victim", self.poland, mobile="512 345 678")
        campaign = self._night_campaign(victim)
        Campaign = self.env["retention.sms.campaign"].with_user(self.salesman)
        with self.assertRaises(AccessError):
            Campaign.create(
                {
                    "state": "held",
                    "body": SECRET,
                    "line_ids": [
                        (
                            0,
                            0,
                            {
                                "partner_id": victim.id,
                                "commercial_partner_id": victim.id,
                                "kind": "contacted",
                                "sms_state": "held",
                                "body": SECRET,
                            },
                        )
                    ],
                }
            )
        with self.assertRaises(AccessError):
            self.env["retention.sms.campaign.line"].with_user(self.salesman).create(
                {
                    "campaign_id": campaign.id,
                    "partner_id": victim.id,
                    "commercial_partner_id": victim.id,
                    "kind": "contacted",
                    "sms_state": "held",
                }
            )
        self.assertEqual(self.env["retention.sms.campaign"].search([]), campaign)
        with self.assertRaises(AccessError):
            campaign.with_user(self.salesman).write({"body": SECRET})
        with self.assertRaises(AccessError):
            campaign.line_ids.with_user(self.salesman).write(
                {"body": SECRET, "sms_state": "held"}
            )
        with self.assertRaises(AccessError):
            campaign.with_user(self.salesman).unlink()
        # What the salesperson may do: read the campaigns of their company.
        self.assertEqual(campaign.with_user(self.salesman).sent_count, 1)

    def test_code_in_a_salespersons_text_never_runs(self):
        # Held overnight, the text would be released by a job running as
        # superuser: it is rendered when queued, as its author, and Odoo's
        # restriction on inline templates refuses the code then and there.
        victim = self._customer("Victim", self.poland, mobile="512 345 678")
        self.company.write(
            {"retention_sms_quiet_start": 21.0, "retention_sms_quiet_end": 9.0}
        )
        with self._sms_at(NIGHT):
            wizard = self._wizard(victim, user=self.salesman)
            wizard.body = f"Hello {SECRET}"
            with self.assertRaisesRegex(
                AccessError,
                "allowed to edit templates containing sensible placeholders",
            ):
                wizard._queue()
        self.assertFalse(self.env["retention.sms.campaign"].search([]))
        self.assertFalse(self._release())
        self.assertFalse(self.env["sms.sms"].search([("body", "ilike", self.secret)]))

    def test_held_text_is_sent_as_rendered_never_rendered_again(self):
        # A customer whose name is template code: the text is rendered once
        # (the name is data, copied as it is) and the superuser release job
        # sends that text without evaluating it.
        sly = self._customer("{{ 6 * 7 }} Sly", self.poland, mobile="512 345 678")
        campaign = self._night_campaign(
            sly, user=self.salesman, body="Hi {{ object.name }}!"
        )
        self.assertEqual(campaign.line_ids.body, "Hi {{ 6 * 7 }} Sly!")
        sent = self._release()
        self.assertEqual(sent.body, "Hi {{ 6 * 7 }} Sly!")
        self.assertEqual(campaign.state, "queued")
        note = sly.message_ids.filtered(lambda message: message.message_type == "sms")
        self.assertIn("{{ 6 * 7 }} Sly", note.body)
        self.assertNotIn("42", note.body)

    def test_release_sends_only_texted_lines_of_the_campaigns_company(self):
        # A campaign recorded by server code with lines it should never
        # send: a control-group line and a customer of another company.
        texted, control, foreign = self._polish_customers(3)
        foreign.company_id = self.other_company
        campaign = self.env["retention.sms.campaign"].create(
            {
                "state": "held",
                "body": "x",
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "partner_id": partner.id,
                            "commercial_partner_id": partner.id,
                            "kind": kind,
                            "sms_state": "held",
                            "body": f"Hello {partner.name}",
                        },
                    )
                    for partner, kind in (
                        (texted, "contacted"),
                        (control, "holdout"),
                        (foreign, "contacted"),
                    )
                ],
            }
        )
        sent = self._release()
        self.assertEqual(sent.partner_id, texted)
        self.assertEqual(sent.body, "Hello Customer 0")
        self.assertEqual(campaign.state, "queued")

    def test_shipped_templates_work_for_a_salesperson_who_edits_them(self):
        # Every shipped template, its text edited by a salesperson who is no
        # template editor, renders, signed with the company of the campaign
        # (here the second company the salesperson works in).
        customer = self._customer(
            "Anna", self.poland, mobile="512 345 678", company_id=False
        )
        self.salesman.write({"company_ids": [(4, self.other_company.id)]})
        self.other_company.write(
            {
                "retention_sms_quiet_start": 0,
                "retention_sms_quiet_end": 0,
                "retention_sms_holdout_percent": 0,
            }
        )
        for xmlid in (
            "sms_template_retention_at_risk",
            "sms_template_retention_lost",
            "sms_template_retention_new",
        ):
            template = self.env.ref(f"customer_retention.{xmlid}")
            wizard = (
                self.env["retention.sms.wizard"]
                .with_user(self.salesman)
                .with_context(
                    allowed_company_ids=[self.other_company.id, self.company.id],
                    retention_sms_partner_ids=customer.ids,
                )
                .create({"template_id": template.id})
            )
            self.assertEqual(wizard.company_id, self.other_company)
            wizard.body = template.body + " (edited)"
            with self.mockSMSGateway():
                campaign = wizard._queue()
            (sms,) = self._new_sms
            self.assertTrue(sms.body.startswith("Hi Anna,"), sms.body)
            self.assertTrue(sms.body.endswith("Other Shop (edited)"), sms.body)
            self.assertEqual(campaign.company_id, self.other_company)
            campaign.sudo().date = fields.Datetime.now() - timedelta(
                days=60
            )  # past the frequency cap

    # ------------------------------------------------------------
    # 2. One number, one text
    # ------------------------------------------------------------

    def test_one_text_per_number_across_campaigns(self):
        # Husband and wife share a number: the first run texts one of them
        # (the other is a duplicate), a run a minute later texts neither.
        husband = self._customer("Jan", self.poland, mobile="512 345 678")
        wife = self._customer("Maria", self.poland, phone="+48 512 345 678")
        wizard, first = self._run(husband | wife)
        self.assertEqual(
            (first.partner_ids, first.skipped_partner_ids), (husband, wife)
        )
        wizard, second = self._run(wife | husband)
        self.assertEqual(second.sent_count, 0)
        self.assertEqual(wizard.skip_recent_ids, husband | wife)
        self.assertFalse(self._new_sms)
        # Another company keeps its own cap on the same number.
        self.assertFalse(
            self.env["retention.sms.campaign"]._recently_contacted(
                wife, {wife.id: "+48512345678"}, self.other_company
            )
        )

    # ------------------------------------------------------------
    # 9. Bad input never stops the machine
    # ------------------------------------------------------------

    def test_control_group_outside_0_to_50_percent_is_refused(self):
        customers = self._polish_customers(4)
        for percent in (100, 50.1, -10):
            with self.assertRaisesRegex(ValidationError, "between 0% and 50%"):
                self._wizard(customers).write({"holdout_percent": percent})
        wizard = self._wizard(customers)
        wizard.holdout_percent = 50
        self.assertEqual((wizard.send_count, wizard.holdout_count), (2, 2))

    def test_a_selection_that_is_no_list_of_ids_is_refused_before_writing(self):
        # JSON-RPC lets NaN and Infinity through; PostgreSQL's JSON does not.
        Wizard = self.env["retention.sms.wizard"].with_user(self.salesman)
        for value in ([float("nan")], [float("inf")], [1.5], "1,2", {"id": 1}):
            with self.assertRaisesRegex(ValidationError, "list of record ids"):
                Wizard.create({"selected_ids": value})
        wizard = Wizard.create({"selected_ids": []})
        with self.assertRaisesRegex(ValidationError, "list of record ids"):
            wizard.write({"selected_ids": [float("nan")]})

    def test_empty_selection_is_refused(self):
        wizard = self._wizard(self.env["res.partner"])
        with (
            self.mockSMSGateway(),
            self.assertRaisesRegex(UserError, "No customer is selected"),
        ):
            wizard._queue()
        self.assertFalse(self.env["retention.sms.campaign"].search([]))

    def test_another_company_over_rpc_is_refused(self):
        # The wizard's company is read-only in the dialog only.
        customer = self._customer("Anna", self.poland, mobile="512 345 678")
        wizard = self._wizard(customer, user=self.salesman)
        with self.assertRaisesRegex(AccessError, "switch to that company"):
            wizard.write({"company_id": self.other_company.id})
        # Naming the other company in the context: Odoo's own refusal.
        with self.mockSMSGateway(), self.assertRaises(AccessError):
            wizard.with_context(allowed_company_ids=self.other_company.ids)._queue()
        self.assertFalse(self._new_sms)

    def test_another_companys_campaign_history_stays_hidden(self):
        # Issue 21, hole 2: the other company texted two customers shared by
        # both companies; a salesperson of this company alone asks the wizard,
        # as RPC does, with the other company in company_id: in create, in
        # the dialog's onchange, in a write. Nothing of that history comes back.
        shared = self._customer("Anna", self.poland, mobile="512 345 678")
        shared |= self._customer("Borys", self.poland, mobile="512 345 679")
        self.other_company.write(
            {"retention_sms_cap_days": 30, "retention_sms_holdout_percent": 0}
        )
        with self.mockSMSGateway():
            self.env["retention.sms.wizard"].with_company(
                self.other_company
            ).with_context(active_model="res.partner", active_ids=shared.ids).create(
                {"company_id": self.other_company.id}
            )._queue()
        Wizard = self.env["retention.sms.wizard"].with_user(self.salesman)
        with self.assertRaisesRegex(AccessError, "switch to that company"):
            Wizard.create(
                {"selected_ids": shared.ids, "company_id": self.other_company.id}
            )
        with self.assertRaisesRegex(AccessError, "switch to that company"):
            Wizard.onchange(
                {"selected_ids": shared.ids, "company_id": self.other_company.id},
                ["company_id"],
                {"company_id": {}, "skip_recent_ids": {}, "skip_recent_count": {}},
            )
        # Odoo itself refuses a company the user does not work in.
        with self.assertRaises(AccessError):
            Wizard.with_context(allowed_company_ids=self.other_company.ids).create(
                {"selected_ids": shared.ids}
            )
        # In their own company the same customers are free to text.
        wizard = Wizard.create({"selected_ids": shared.ids})
        self.assertEqual(wizard.company_id, self.company)
        self.assertFalse(wizard.skip_recent_ids)
        self.assertEqual(wizard.send_partner_ids, shared)

    def test_do_not_contact_follows_the_number(self):
        # Issue 21, hole 6: Anna asked not to be contacted; her duplicate
        # record, and the contact of a company marked so, share a number
        # with a marked partner: neither is texted. Moved away stays with
        # the customer (the number may be somebody else's now).
        anna = self._customer("Anna", self.poland, mobile="512 345 678")
        duplicate = self._customer("Anna K.", self.poland, phone="+48 512 345 678")
        firm = self._customer("Firma", self.poland, is_company=True)
        firm_contact = self._customer(
            "Jan", self.poland, parent_id=firm.id, mobile="512 345 600"
        )
        firm_number_elsewhere = self._customer(
            "Jan (private)", self.poland, mobile="+48512345600"
        )
        moved = self._customer("Olga", self.poland, mobile="512 345 601")
        same_as_moved = self._customer("New owner", self.poland, mobile="512345601")
        free = self._customer("Free", self.poland, mobile="512 345 602")
        anna.with_user(self.salesman).action_retention_mark_do_not_contact()
        firm.with_user(self.salesman).action_retention_mark_do_not_contact()
        moved.with_user(self.salesman).action_retention_mark_moved_away()
        selection = duplicate | firm_number_elsewhere | same_as_moved | free
        wizard = self._wizard(selection, user=self.salesman)
        self.assertEqual(
            wizard.skip_contact_block_ids, duplicate | firm_number_elsewhere
        )
        self.assertEqual(wizard.send_partner_ids, same_as_moved | free)
        self.assertEqual(
            self._wizard(firm_contact).skip_contact_block_ids, firm_contact
        )
        with self.mockSMSGateway():
            campaign = wizard._queue()
        self.assertEqual(campaign.partner_ids, same_as_moved | free)
        self.assertEqual(
            {sms.number for sms in self._new_sms}, {"+48512345601", "+48512345602"}
        )
        # Clearing the mark frees the number again.
        anna.with_user(self.salesman).action_retention_clear_contact_block()
        self.assertFalse(
            self._wizard(duplicate, user=self.salesman).skip_contact_block_ids
        )

    def test_a_failing_campaign_does_not_block_the_others(self):
        # The oldest held campaign cannot be queued: it is marked failed
        # with its error, and the next one goes out at the same call.
        first = self._night_campaign(
            self._customer("First", self.poland, mobile="512 999 001")
        )
        second = self._night_campaign(
            self._customer("Second", self.poland, mobile="512 999 002")
        )
        original = RetentionSmsCampaign._send_lines

        def broken_for_first(campaign, lines):
            if campaign == first:
                raise ValueError("gateway refused the batch")
            return original(campaign, lines)

        with (
            patch.object(
                RetentionSmsCampaign,
                "_send_lines",
                autospec=True,
                side_effect=broken_for_first,
            ),
            self.assertLogs(
                "odoo.addons.customer_retention.models.retention_sms_campaign", "ERROR"
            ),
        ):
            self._release()
            sent = self._release()
        self.assertEqual(first.state, "failed")
        self.assertEqual(first.error, "ValueError: gateway refused the batch")
        self.assertEqual(second.state, "queued")
        self.assertEqual(sent.partner_id.name, "Second")
        self.assertEqual(
            self._release(), self.env["sms.sms"], "nothing left to release"
        )

    # ------------------------------------------------------------
    # 8. One definition of a purchase
    # ------------------------------------------------------------

    def test_measure_counts_visits_as_the_recompute_does(self):
        # Invoices: an invoice dated the day of the SMS is a visit of that
        # day, as the retention figures count it, so the customer is won
        # back; a credit note lowers the revenue.
        self.company.retention_source = "invoice"
        customer = self._customer("Anna", self.poland, mobile="512 345 678")
        sent_at = datetime(2026, 3, 2, 10, 0)
        with self.mock_datetime_and_now(sent_at):
            _wizard, campaign = self._run(customer, user=self.salesman)
        product = self.env["product.product"].create(
            {"name": "Wash", "type": "service"}
        )
        for move_type, day, amount in (
            ("out_invoice", date(2026, 3, 2), 120),
            ("out_refund", date(2026, 3, 9), 20),
        ):
            move = self.env["account.move"].create(
                {
                    "move_type": move_type,
                    "partner_id": customer.id,
                    "invoice_date": day,
                    "invoice_line_ids": [
                        (
                            0,
                            0,
                            {
                                "product_id": product.id,
                                "price_unit": amount,
                                "tax_ids": [],
                            },
                        )
                    ],
                }
            )
            move.action_post()
        # "Measure now" for the salesperson who sees the campaign.
        with self.mock_datetime_and_now(sent_at + timedelta(days=10)):
            campaign.with_user(self.salesman).action_measure()
        self.assertEqual((campaign.won_count, campaign.won_revenue), (1, 100.0))
        self.assertEqual(campaign.line_ids.won_date, date(2026, 3, 2))

    def test_user_without_sales_rights_cannot_measure(self):
        customer = self._customer("Anna", self.poland, mobile="512 345 678")
        _wizard, campaign = self._run(customer)
        outsider = new_test_user(
            self.env, "retention_sms_outsider", groups="base.group_user"
        )
        with self.assertRaises(AccessError):
            campaign.with_user(outsider).action_measure()

    def test_a_campaign_that_cannot_be_measured_does_not_stop_the_others(self):
        first = self._run(self._customer("First", self.poland, mobile="512 999 011"))[1]
        second = self._run(self._customer("Second", self.poland, mobile="512 999 012"))[
            1
        ]
        original = RetentionSmsCampaign._measure

        def broken_for_first(campaigns, *args, **kwargs):
            if first in campaigns:
                raise ValueError("no such currency")
            return original(campaigns, *args, **kwargs)

        with (
            patch.object(
                RetentionSmsCampaign,
                "_measure",
                autospec=True,
                side_effect=broken_for_first,
            ),
            self.assertLogs(
                "odoo.addons.customer_retention.models.retention_sms_campaign", "ERROR"
            ),
        ):
            # One campaign per call: the failing one, then the other.
            for _call in range(3):
                self.env["retention.sms.campaign"]._cron_measure()
        self.assertFalse(first.measured_at)
        self.assertTrue(second.measured_at)
        # Tried today, failed: measured again tomorrow, not in a loop.
        self.assertTrue(first.measure_attempt)
