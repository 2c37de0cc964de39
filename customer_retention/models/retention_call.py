# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Win-back calls: a "Call" activity for a customer who became at risk,
assigned to their salesperson, and the outcome the salesperson records
once the call is done (won back, or why the customer left).

One plan is one retention.call and one mail.activity on the customer. A
customer never has two open plans in a company: the planning skips those
who have one, and a partial unique index refuses a second one whatever
happens concurrently. The activity and the call move together: marking the
activity done in the chatter marks the call done (its outcome can be
recorded later), deleting the activity cancels the call (see
mail_activity.py).
"""

import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..engine import STATUSES, rules
from . import retention_args, retention_jobs

_logger = logging.getLogger(__name__)

OUTCOMES = [
    ("won_back", "Won back"),
    ("moved_away", "Moved away"),
    ("competitor", "Competitor"),
    ("price", "Price"),
    ("quality", "Quality or service"),
    ("pause", "Temporary pause"),
    ("other", "Other"),
    # Not a reason for leaving: without it an unanswered call would be
    # recorded as "Other" and blur the one question the report answers.
    ("no_answer", "No answer"),
]
CONTACT_BLOCKS = [
    ("moved_away", "Moved away"),
    ("do_not_contact", "Do not contact"),
]
# outcome -> the contact mark it sets on the customer
OUTCOME_BLOCKS = {"moved_away": "moved_away"}
CALL_STATES = [
    ("planned", "Planned"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]
# Plans made by one call of the planning (a click, one step of the daily
# job): a few seconds of activity creation; the job continues with the rest
# in its next step, a click plans the rest when clicked again.
PLAN_BATCH = 1000
MAX_DAILY_CAP = 1000
# What a non-manager may change on a call: what the call brought.
OUTCOME_FIELDS = {"outcome", "note"}
# Namespace of the planning's transaction lock (the recompute uses its own).
_PLAN_LOCK_NAMESPACE = 472_618
SALES_MANAGERS = "sales_team.group_sale_manager"
ALL_DOCUMENTS = "sales_team.group_sale_salesman_all_leads"


class RetentionCall(models.Model):
    _name = "retention.call"
    _description = "Win-back Call"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        readonly=True,
        index=True,
        ondelete="set null",
        help="Who makes the call: the customer's salesperson.",
    )
    activity_id = fields.Many2one(
        "mail.activity",
        string="Activity",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The open Call activity on the customer; empty once it is done.",
    )
    date = fields.Date(
        string="Planned On",
        required=True,
        readonly=True,
        help="Day the call was planned, on the company's clock.",
    )
    state = fields.Selection(
        CALL_STATES, default="planned", required=True, readonly=True
    )
    outcome = fields.Selection(
        OUTCOMES,
        help="What the call brought: won back, or why the customer left.",
    )
    note = fields.Text(string="Call Notes")
    done_date = fields.Date(string="Done On", readonly=True)
    status = fields.Selection(
        list(STATUSES), string="Status When Planned", readonly=True
    )
    revenue = fields.Monetary(
        string="Revenue When Planned",
        readonly=True,
        currency_field="currency_id",
        help="The customer's revenue in the look-back window when the call was "
        "planned.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    reason = fields.Text(
        string="Reason When Planned",
        readonly=True,
        help="Why the customer was at risk when the call was planned.",
    )

    def init(self):
        # The guard against a second open plan, whatever runs concurrently:
        # the planning inserts with ON CONFLICT DO NOTHING on it.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS retention_call_open_uniq
                ON retention_call (company_id, partner_id) WHERE state = 'planned'
            """
        )
        # The daily cap counts a salesperson's plans of the day.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_call_company_user_date_idx
                ON retention_call (company_id, user_id, date)
            """
        )

    # ------------------------------------------------------------
    # Outcome
    # ------------------------------------------------------------

    def write(self, vals):
        if not self.env.su:
            # Over RPC too: the plan itself (customer, salesperson, state,
            # activity) is the planning's; a user records what the call
            # brought, on a call they may write (record rules: the
            # assignee, or a sales manager).
            forbidden = sorted(set(vals) - OUTCOME_FIELDS)
            if forbidden:
                raise AccessError(
                    self.env._(
                        "Only the outcome and the notes of a win-back call can be "
                        "changed (not %(fields)s).",
                        fields=", ".join(forbidden),
                    )
                )
            if vals.get("outcome") and self.filtered(lambda c: c.state != "done"):
                raise UserError(
                    self.env._(
                        "Record the outcome of a planned call with Record Outcome: "
                        "it also marks the call and its activity done."
                    )
                )
        result = super().write(vals)
        if vals.get("outcome"):
            self._apply_outcome_marks()
        return result

    def _apply_outcome_marks(self):
        """The contact mark an outcome implies (moved away: moved for every
        company of the database), set on customers that have none yet."""
        for outcome, block in OUTCOME_BLOCKS.items():
            customers = self.filtered(lambda c, o=outcome: c.outcome == o).partner_id
            # sudo: salespeople may read customers, not edit them; the mark is
            # what their call established.
            customers.filtered(lambda p: not p.retention_contact_block).sudo().write(
                {"retention_contact_block": block}
            )

    def _mark_done(self):
        """The calls are done (their activity was marked done)."""
        for company, calls in self.grouped("company_id").items():
            # sudo: the assignee closes the call by closing its activity
            calls.sudo().write(
                {"state": "done", "done_date": company._retention_today()}
            )

    def action_record_outcome(self):
        """The outcome dialog for this call."""
        retention_args.one(self)
        self.check_access("write")
        if self.state == "cancelled":
            raise UserError(
                self.env._("This call was cancelled: there is no outcome to record.")
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Record Call Outcome"),
            "res_model": "retention.call.outcome.wizard",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_call_id": self.id},
        }

    # ------------------------------------------------------------
    # Planning
    # ------------------------------------------------------------

    @api.model
    def _plan(self, company, partners=None, cap=None, planner=None, limit=PLAN_BATCH):
        """Plan a win-back call for the customers of ``company`` to call,
        most valuable first: those who became at risk since the company's
        first planning and have had no call since (the daily job), or
        ``partners`` (at risk or lost; a salesperson's selection, with
        ``planner`` the user who selected them).

        Skipped: customers marked moved away or do not contact, those with
        an open call, those without salesperson, and past the daily cap of
        their salesperson (``cap``, the company's setting by default; 0: no
        cap) counted over the day's plans. At most ``limit`` plans are made;
        'remaining' says how many more could be. Returns the counts."""
        company.ensure_one()
        counts = dict.fromkeys(
            (
                "planned",
                "capped",
                "excluded",
                "already_planned",
                "no_salesperson",
                "not_at_risk",
                "other_salesperson",
                "remaining",
            ),
            0,
        )
        self.env.flush_all()
        if not self._plan_lock(company):
            raise retention_jobs.RetentionBusyError(
                self.env._(
                    "Win-back calls of %(company)s are being planned right now: try "
                    "again in a moment.",
                    company=company.name,
                )
            )
        today = company._retention_today()
        if partners is None:
            candidates = self._new_at_risk(company, today)
        else:
            candidates = self._selected(company, partners.commercial_partner_id.ids)
            flagged = rules.flagged([row[2] for row in candidates])
            counts["not_at_risk"] = int((~flagged).sum())
            candidates = [
                row for row, flag in zip(candidates, flagged, strict=True) if flag
            ]
        if not candidates:
            return counts
        ids = [row[0] for row in candidates]
        blocked = self._blocked(ids)
        open_calls = self._open(company, ids)
        salespeople = self._salespeople(company, ids)
        cap = company.retention_call_daily_cap if cap is None else cap
        planned_today = self._planned_today(company, today)
        own_only = planner and not planner.has_group(ALL_DOCUMENTS)
        todo = []
        for partner_id, revenue, status in candidates:
            if partner_id in blocked:
                counts["excluded"] += 1
                continue
            if partner_id in open_calls:
                counts["already_planned"] += 1
                continue
            user_id = salespeople.get(partner_id)
            if planner:
                # Picked by hand: a customer nobody follows goes to whoever
                # picked them; a salesperson who sees only their own
                # documents plans for their own customers only.
                if own_only and user_id and user_id != planner.id:
                    counts["other_salesperson"] += 1
                    continue
                user_id = user_id or planner.id
            if not user_id:
                counts["no_salesperson"] += 1
                continue
            if cap and planned_today.get(user_id, 0) >= cap:
                counts["capped"] += 1
                continue
            if len(todo) >= limit:
                counts["remaining"] += 1
                continue
            planned_today[user_id] = planned_today.get(user_id, 0) + 1
            todo.append((partner_id, user_id, revenue, status))
        calls = self._create_plans(company, today, todo)
        counts["planned"] = len(calls)
        _logger.info(
            "Win-back calls of %(company)s: %(planned)d planned, %(capped)d over the "
            "daily cap, %(excluded)d not to contact, %(already_planned)d already "
            "planned, %(no_salesperson)d without salesperson, %(remaining)d left "
            "for the next step",
            dict(counts, company=company.name),
        )
        return counts

    def _plan_lock(self, company):
        """One planning of a company at a time (the day's cap is counted on
        what the other one planned)."""
        self.env.cr.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)",
            [_PLAN_LOCK_NAMESPACE, company.id],
        )
        return self.env.cr.fetchone()[0]

    def _new_at_risk(self, company, today):
        """(customer, revenue, status) of the customers of ``company`` that
        are at risk now, became so since the company's first planning, and
        had no call since; most valuable first."""
        if not company.retention_call_plan_since:
            # sudo: the planning's own watermark on the company. The customers
            # already at risk then are left to be planned by hand.
            company.sudo().retention_call_plan_since = today
        since = company.retention_call_plan_since
        self.env.cr.execute(
            SQL(
                """
                WITH became AS (
                    SELECT partner_id, max(date) AS day
                      FROM retention_status_change
                     WHERE company_id = %(company)s
                       AND new_status = 'at_risk'
                       AND date >= %(since)s
                  GROUP BY partner_id
                )
                SELECT state.partner_id, state.revenue, state.status
                  FROM became
                  JOIN retention_partner_state state
                    ON state.company_id = %(company)s
                   AND state.partner_id = became.partner_id
                   AND state.status = 'at_risk'
                 WHERE NOT EXISTS (
                        SELECT 1 FROM retention_call call
                         WHERE call.company_id = %(company)s
                           AND call.partner_id = became.partner_id
                           AND call.date >= became.day
                           AND call.state != 'planned')
              ORDER BY state.revenue DESC NULLS LAST, state.partner_id
                """,
                company=company.id,
                since=since,
            )
        )
        return self.env.cr.fetchall()

    def _selected(self, company, partner_ids):
        """(customer, revenue, status) of ``partner_ids`` in ``company``,
        most valuable first; customers without values have no status."""
        self.env.cr.execute(
            SQL(
                """
                SELECT partner.id, state.revenue, state.status
                  FROM res_partner partner
             LEFT JOIN retention_partner_state state
                    ON state.company_id = %s AND state.partner_id = partner.id
                 WHERE partner.id = ANY(%s)
              ORDER BY state.revenue DESC NULLS LAST, partner.id
                """,
                company.id,
                partner_ids,
            )
        )
        return self.env.cr.fetchall()

    def _blocked(self, partner_ids):
        self.env.cr.execute(
            "SELECT id FROM res_partner WHERE id = ANY(%s)"
            " AND retention_contact_block IS NOT NULL",
            [partner_ids],
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def _open(self, company, partner_ids):
        self.env.cr.execute(
            "SELECT partner_id FROM retention_call WHERE company_id = %s"
            " AND partner_id = ANY(%s) AND state = 'planned'",
            [company.id, partner_ids],
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def _planned_today(self, company, today):
        """salesperson id -> plans made for them on ``today`` in ``company``
        (done and cancelled ones too: the cap is on what a day hands out)."""
        self.env.cr.execute(
            "SELECT user_id, count(*) FROM retention_call WHERE company_id = %s"
            " AND date = %s AND user_id IS NOT NULL GROUP BY user_id",
            [company.id, today],
        )
        return dict(self.env.cr.fetchall())

    def _salespeople(self, company, partner_ids):
        """customer -> who calls them: their salesperson if that user is
        active, internal and works in ``company``, else the salesperson of
        their latest confirmed order in ``company`` who still is."""
        self.env.cr.execute(
            SQL(
                """
                WITH able AS (
                    SELECT users.id
                      FROM res_users users
                      JOIN res_company_users_rel rel
                        ON rel.user_id = users.id AND rel.cid = %(company)s
                     WHERE users.active AND NOT users.share
                )
                SELECT partner.id, partner.user_id
                  FROM res_partner partner
                  JOIN able ON able.id = partner.user_id
                 WHERE partner.id = ANY(%(ids)s)
                UNION ALL
                SELECT * FROM (
                    SELECT DISTINCT ON (customer.commercial_partner_id)
                           customer.commercial_partner_id, sale.user_id
                      FROM sale_order sale
                      JOIN res_partner customer ON customer.id = sale.partner_id
                      JOIN able ON able.id = sale.user_id
                     WHERE sale.company_id = %(company)s
                       AND sale.state = 'sale'
                       AND customer.commercial_partner_id = ANY(%(ids)s)
                  ORDER BY customer.commercial_partner_id, sale.date_order DESC,
                           sale.id DESC
                ) AS last_order
                """,
                company=company.id,
                ids=partner_ids,
            )
        )
        salespeople = {}
        for partner_id, user_id in self.env.cr.fetchall():
            salespeople.setdefault(partner_id, user_id)  # the partner's own first
        return salespeople

    def _create_plans(self, company, today, todo):
        """One call and one Call activity per (customer, salesperson,
        revenue, status) of ``todo``; the calls inserted where no open one
        exists (a concurrent planning that committed one first makes this
        transaction fail with a serialization error, which Odoo retries)."""
        if not todo:
            return self.browse()
        # sudo: the caller's checks are done; the reason is read for
        # salespeople of other teams too, in each one's language.
        Partner = self.env["res.partner"].sudo().with_company(company)
        Users = self.env["res.users"].sudo()
        reasons, summaries = {}, {}
        by_lang = {}
        for partner_id, user_id, _revenue, _status in todo:
            lang = Users.browse(user_id).lang or self.env.lang
            by_lang.setdefault(lang, []).append(partner_id)
        for lang, partner_ids in by_lang.items():
            customers = Partner.with_context(lang=lang).browse(partner_ids)
            texts = customers.mapped("retention_reason")
            reasons.update(zip(customers.ids, texts, strict=True))
            summaries[lang] = customers.env._("Win-back call")
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO retention_call (
                    company_id, partner_id, user_id, revenue, status, reason, date,
                    state, create_uid, write_uid, create_date, write_date)
                SELECT %(company)s, todo.partner_id, todo.user_id, todo.revenue,
                       todo.status, todo.reason, %(today)s, 'planned',
                       %(uid)s, %(uid)s, %(now)s, %(now)s
                  FROM unnest(%(partners)s::int[], %(users)s::int[],
                              %(revenues)s::float8[], %(statuses)s::varchar[],
                              %(reasons)s::text[])
                       AS todo(partner_id, user_id, revenue, status, reason)
                ON CONFLICT (company_id, partner_id) WHERE state = 'planned'
                DO NOTHING
                RETURNING id, partner_id, user_id
                """,
                company=company.id,
                today=today,
                uid=self.env.uid,
                now=fields.Datetime.now(),
                partners=[row[0] for row in todo],
                users=[row[1] for row in todo],
                revenues=[row[2] for row in todo],
                statuses=[row[3] for row in todo],
                reasons=[reasons.get(row[0]) or None for row in todo],
            )
        )
        inserted = self.env.cr.fetchall()
        call_type = self.env.ref("mail.mail_activity_data_call")
        model_id = self.env["ir.model"]._get_id("res.partner")
        values = []
        for _call_id, partner_id, user_id in inserted:
            reason = reasons.get(partner_id)
            lang = Users.browse(user_id).lang or self.env.lang
            values.append(
                {
                    "res_model_id": model_id,
                    "res_id": partner_id,
                    "activity_type_id": call_type.id,
                    "summary": summaries[lang],
                    # plain text, escaped into the Html note
                    "note": Markup("<p>%s</p>") % reason if reason else False,
                    "user_id": user_id,
                    "date_deadline": today,
                }
            )
        # sudo: activities on customers a salesperson may only read, for
        # another user sometimes. No e-mail per activity: the salespeople
        # find them among their activities; the day's cap keeps them few.
        activities = (
            self.env["mail.activity"]
            .sudo()
            .with_context(mail_activity_quick_update=True)
            .create(values)
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE retention_call call SET activity_id = link.activity_id
                  FROM unnest(%s::int[], %s::int[]) AS link(call_id, activity_id)
                 WHERE call.id = link.call_id
                """,
                [row[0] for row in inserted],
                activities.ids,
            )
        )
        self.invalidate_model()
        return self.browse([row[0] for row in inserted])

    @api.model
    def _action_plan(self, partners):
        """Plan a call for ``partners`` (their commercial entities) in the
        current company, for a sales user who may read them; a notification
        that says what was planned and what was not, and why."""
        if not self.env.user.has_group("sales_team.group_sale_salesman"):
            raise AccessError(self.env._("Only Sales users can plan win-back calls."))
        partners.check_access("read")
        customers = partners.commercial_partner_id
        if len(customers) > PLAN_BATCH:
            raise UserError(
                self.env._(
                    "%(count)s customers are selected: plan calls for at most "
                    "%(limit)s at a time.",
                    count=len(customers),
                    limit=PLAN_BATCH,
                )
            )
        counts = self.env.company._retention_plan_calls(
            partners=customers, planner=self.env.user
        )
        return self._notification(counts)

    @api.model
    def _notification(self, counts):
        """A notification of the planning's ``counts``."""
        skipped = {
            "excluded": self.env._(
                "%(count)s marked moved away or do not contact",
                count=counts["excluded"],
            ),
            "already_planned": self.env._(
                "%(count)s already planned", count=counts["already_planned"]
            ),
            "capped": self.env._(
                "%(count)s over the salesperson's daily limit (planned on a next day)",
                count=counts["capped"],
            ),
            "no_salesperson": self.env._(
                "%(count)s without salesperson", count=counts["no_salesperson"]
            ),
            "other_salesperson": self.env._(
                "%(count)s followed by another salesperson",
                count=counts["other_salesperson"],
            ),
            "not_at_risk": self.env._(
                "%(count)s neither at risk nor lost", count=counts["not_at_risk"]
            ),
            "remaining": self.env._(
                "%(count)s left for the next run", count=counts["remaining"]
            ),
        }
        message = self.env._(
            "%(count)s win-back calls planned.", count=counts["planned"]
        )
        reasons = [text for key, text in skipped.items() if counts[key]]
        if reasons:
            message = self.env._(
                "%(planned)s Not planned: %(reasons)s.",
                planned=message,
                reasons="; ".join(reasons),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "success" if counts["planned"] else "warning",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _cron_plan(self):
        """Plan the win-back calls of the companies that plan them every
        night, once their nightly run has ended (the run triggers this job;
        it also runs daily in case a trigger was lost). One company and at
        most PLAN_BATCH plans per call, committed (retention_jobs). A company
        that fails is logged and retried after its next run; the others go
        on; one whose calls are being planned by someone else comes a minute
        later."""
        runs = self.env["retention.run"].search(
            [
                ("company_id.retention_call_plan_auto", "=", True),
                ("last_run", "!=", False),
                ("as_of", "=", False),
            ]
        )
        due = runs.company_id.sorted("id").filtered(
            lambda company: not company.retention_calls_planned_at
            or company.retention_calls_planned_at < company.retention_run_id.last_run
        )

        def work(company, budget):
            counts = company._retention_plan_calls()
            if not counts["remaining"]:
                planned(company)
            return retention_jobs.Progress(counts["planned"], counts["remaining"])

        def failed(company, error):
            _logger.exception("Win-back calls of %s: planning failed", company.name)
            planned(company)

        def planned(company):
            # sudo: the job's own stamp on the company
            company.sudo().retention_calls_planned_at = fields.Datetime.now()

        retention_jobs.call(
            self.env,
            "customer_retention.ir_cron_retention_plan_calls",
            due,
            work,
            failed,
            busy_retry=timedelta(minutes=1),
        )

    @api.model
    def _set_contact_block(self, partners, block):
        """Mark ``partners`` (their commercial entities) moved away or do
        not contact (``block``), or clear the mark (False), for a sales user
        who may read them."""
        if not self.env.user.has_group("sales_team.group_sale_salesman"):
            raise AccessError(
                self.env._("Only Sales users can mark customers not to contact.")
            )
        if block not in (False, *dict(CONTACT_BLOCKS)):
            raise UserError(self.env._("Unknown contact mark: %(mark)s", mark=block))
        partners.check_access("read")
        # sudo: salespeople may read customers, not edit them; the mark is
        # theirs to set (tracked in the chatter under their name).
        partners.commercial_partner_id.sudo().write({"retention_contact_block": block})
