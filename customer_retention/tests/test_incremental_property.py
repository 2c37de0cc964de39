# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Property: night after night of incremental work leaves exactly what a
recompute from scratch of the final day leaves.

Each test is one random history (seeded: the test's name carries the seed,
``-k seed_3`` replays it): two companies on two clocks (Warsaw; New York,
where the job's 02:00 UTC is the evening before), customers who are people
or firms buying through their contacts, orders at any hour (so that the
local day is not the UTC day), several on one day, cancelled orders and
quotations, and in the Warsaw company, which counts invoices and credit
notes without an order too, refunds and invoices of their own. Then a few
nights: the daily job at 02:00 UTC, and in the afternoon new orders (of
new customers too), orders whose amount, date or customer is edited,
cancelled or confirmed again, credit notes, with or without the hourly job
for the changed customers in between. Every write is dated the moment it
is made in the history (see ``_stamp``): the jobs find what changed since
their last run by these dates.

On the final day every table the run keeps per company is read, then
everything is wiped (as before a company's first run) and the daily job
runs again at the same moment; both reads must be equal. What legitimately
differs is left out of that comparison (see ``COMPARED`` and
``_snapshot``), and checked otherwise where it can be:

- ``retention_partner_state.changed_at`` (and the ids, create and write
  stamps of every table): when a row was written, not what it holds.
- ``retention_status_change``: a log of the statuses that the runs saw one
  day after another, which a recompute from scratch cannot know (its first
  run records no change, by design: retention_run_phases._history_day).
  It is checked against the statuses read after every job instead: one row
  per customer and day where the status at the end of the day differs from
  the one at its start. ``retention_status_flow`` counts these rows per
  month; it is checked against them.
- ``retention_status_month`` before the current month: the statuses at past
  month ends are reconstructed from the orders once, on the first night,
  and a month's end recorded by the runs of that month; neither is rebuilt
  when an order of that past month is edited later, and a recompute from
  scratch reconstructs them all from the final orders (by design:
  retention_history.months_to_rebuild). The current month is compared.
- the number of customers the outlook's models were fitted on
  (``retention_run.prediction_params``), see ``_snapshot``.
- the outlook's models themselves when the nights fitted them before the
  final day and still use them (retention_run_phases.refit_days: every
  night, every other night or weekly, by seed): they are the week's
  models, which the recompute from scratch keeps and scores with (see
  ``_from_scratch``); models fitted on the final night are fitted again.
"""

import json
import os
import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from freezegun import freeze_time

from odoo import Command
from odoo.tests import new_test_user, tagged

from ..models import retention_run_phases as phases
from .common import RetentionCase

# The histories tried: RETENTION_PROPERTY_SEEDS=first:count widens the search.
_FIRST, _COUNT = (
    int(part) for part in os.environ.get("RETENTION_PROPERTY_SEEDS", "0:6").split(":")
)
# And the histories that found a difference once: 12, a customer the
# night's outlook sample lacked (stored customers only, before the fit took
# those changed since too).
SEEDS = sorted({*range(_FIRST, _FIRST + _COUNT), 12})

DAILY_JOB = "customer_retention.ir_cron_retention_recompute"
HOURLY_JOB = "customer_retention.ir_cron_retention_recompute_changed"
RUN_LOGGER = "odoo.addons.customer_retention.models.retention_run"

# Every clock of the histories is frozen in 2024; the database stamps the
# test's writes with its own, real clock (one transaction: one stamp), later
# than this. The writes of each moment are dated that moment (see _stamp).
FROZEN_UNTIL = datetime(2025, 1, 1)
NIGHT = time(2, 0)  # the daily job's hour (UTC)
AFTERNOON = time(14, 0)  # the day's changes
HOURLY = time(15, 0)  # the hourly job, when it runs that day
EVENING = time(16, 0)  # changes the hourly job does not see before the night

# Written by the run, per company: table -> columns left out besides the
# bookkeeping ones (see the module's docstring).
COMPARED = {
    "retention_partner_state": ("changed_at",),
    "retention_partner_category": (),
    "retention_category_gap": (),
    "retention_report": (),
    "retention_pulse_week": (),
    "retention_visit_hour": (),
    "retention_cohort": (),
    "retention_status_month": (),  # of the current month (_snapshot)
}
BOOKKEEPING = {"id", "create_uid", "create_date", "write_uid", "write_date"}
# What a first run starts without.
WIPED = (*COMPARED, "retention_status_change", "retention_status_flow")
RUN_COLUMNS = (
    "as_of",
    "phase",
    "months_built",
    "last_error",
    "prediction_model",
    "prediction_no_model",
    "prediction_params",
    "prediction_bgnbd_auc",
    "prediction_rhythm_auc",
)
# The outlook's models of a run (kept by a recompute from scratch).
MODEL_COLUMNS = (
    "prediction_params",
    "prediction_fitted_at",
    "prediction_model",
    "prediction_no_model",
    "prediction_bgnbd_auc",
    "prediction_rhythm_auc",
)
SHOWN = 6  # differing rows shown per table


def _plain(value):
    """A value comparable across two computations: floats to 6 decimals (the
    engine's sums in another order may differ in the last bits)."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "NaN"
        return round(value, 6) + 0.0  # no -0.0
    return value


def _at(day, hour):
    return datetime.combine(day, hour)


@tagged("post_install", "-at_install")
class TestIncrementalProperty(RetentionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Europe/Warsaw"
        # Orders, and invoices and credit notes without an order (refunds).
        cls.company.retention_source = "sale_invoice"
        cls.company_ny = cls.env["res.company"].create(
            {"name": "Branch New York", "currency_id": cls.company.currency_id.id}
        )
        cls.company_ny.partner_id.tz = "America/New_York"
        cls.companies = cls.company | cls.company_ny
        cls.sellers = [
            new_test_user(
                cls.env,
                login,
                groups="sales_team.group_sale_salesman",
                company_id=cls.company.id,
                company_ids=[Command.set(cls.companies.ids)],
            )
            for login in ("retention_property_rep_1", "retention_property_rep_2")
        ]

    # ------------------------------------------------------------
    # The property, one seed per test
    # ------------------------------------------------------------

    def test_outlook_of_a_larger_history(self):
        """Enough customers for the outlook's models (engine.predict
        MIN_CUSTOMERS): the nights fit them on the customers stored and
        those changed since, a recompute from scratch on those it computed;
        the same models, so the same chances and the same verdicts."""
        self._check_seed(100, customers=(100, 110))
        runs = self.env["retention.run"]._of(self.company)
        self.assertTrue(
            runs.prediction_model,
            f"the outlook was not exercised: {runs.prediction_params}",
        )

    def _check_seed(self, seed, customers=(15, 24)):
        self.assertGreater(self.env.cr.now(), FROZEN_UNTIL, "the database's clock")
        self._reset()
        rng = random.Random(seed)
        self.customer_range = customers
        first = self._first_day(rng)
        nights = [first + timedelta(days=n) for n in range(rng.randint(3, 4))]
        self.rng = rng
        # The models fitted again every night, every other night, or kept
        # for the week (retention_run_phases.refit_days).
        self.env["ir.config_parameter"].set_param(
            phases.REFIT_PARAM, str((1, 2, 7)[seed % 3])
        )
        with freeze_time(_at(first - timedelta(days=1), AFTERNOON)):
            self._history(first)
        self._stamp(_at(first - timedelta(days=1), AFTERNOON))
        steps = [self._job(DAILY_JOB, _at(first, NIGHT))]
        for day in nights[:-1]:
            self._changes(_at(day, AFTERNOON))
            if rng.random() < 0.7:
                steps.append(self._job(HOURLY_JOB, _at(day, HOURLY)))
                if rng.random() < 0.5:
                    self._changes(_at(day, EVENING))
            steps.append(self._job(DAILY_JOB, _at(day + timedelta(days=1), NIGHT)))
        final = _at(nights[-1], NIGHT)
        incremental = self._snapshot(final)
        self._check_status_log(seed, steps)
        full = self._from_scratch(final)
        self._compare(seed, incremental, full)

    def _from_scratch(self, final):
        """Everything wiped, the daily job at ``final``: its snapshot. Models
        the nights fitted before ``final`` and still use are kept, as the
        outlook of that week (a recompute from scratch scores with them);
        those fitted at ``final`` are fitted again from scratch."""
        runs = self.env["retention.run"]._of(self.companies)
        kept = [
            {"company_id": run.company_id.id, **run.read(MODEL_COLUMNS, load=None)[0]}
            for run in runs.sudo()
            if run.prediction_fitted_at and run.prediction_fitted_at < final
        ]
        for values in kept:
            values.pop("id")
        self._wipe()
        self.env["retention.run"].sudo().create(kept)
        self._job(DAILY_JOB, final)
        return self._snapshot(final)

    def _reset(self):
        """No value, report nor run of either company before the history."""
        self._wipe()
        self.env.flush_all()
        for table in ("sale_order", "account_move"):
            self.env.cr.execute(
                f"UPDATE {table} SET write_date = %s",  # noqa: S608 (fixed names)
                [datetime(2000, 1, 1)],
            )
        self.env.cr.execute("DELETE FROM retention_moved_customer")

    def _wipe(self):
        cr = self.env.cr
        self.env.flush_all()
        for table in (*WIPED, "retention_run"):
            cr.execute(
                f"DELETE FROM {table} WHERE company_id = ANY(%s)",  # noqa: S608 (fixed names)
                [self.companies.ids],
            )
        self.env.invalidate_all()

    # ------------------------------------------------------------
    # Random histories and days
    # ------------------------------------------------------------

    def _first_day(self, rng):
        """The first night: any day of 2024, or one of the last days of a
        month, so that the nights cross into the next month."""
        if rng.random() < 0.4:
            month = rng.randint(1, 11)
            end = date(2024, month + 1, 1) - timedelta(days=1)
            return end - timedelta(days=rng.randint(0, 2))
        return date(2024, 1, 15) + timedelta(days=rng.randint(0, 320))

    def _history(self, first):
        rng = self.rng
        self.customers = [
            self._new_customer(index)
            for index in range(rng.randint(*self.customer_range))
        ]
        specs, cancelled, quotations = [], [], []
        for buyers in self.customers:
            if rng.random() < 0.1:
                continue  # buys only later, or never
            for company, chance in ((self.company, 0.85), (self.company_ny, 0.4)):
                if rng.random() >= chance:
                    continue
                for _order in range(rng.randint(1, 6)):
                    when = _at(
                        first - timedelta(days=rng.randint(1, 800)),
                        time(rng.randint(0, 23), rng.choice((0, 30, 59))),
                    )
                    specs.append(self._spec(rng.choice(buyers), company, when))
                    if rng.random() < 0.25:  # the same day again
                        other = when.replace(hour=rng.randint(0, 23))
                        specs.append(self._spec(rng.choice(buyers), company, other))
            if rng.random() < 0.25:
                self._refund(
                    rng.choice(buyers), first - timedelta(days=rng.randint(1, 500))
                )
            if rng.random() < 0.15:
                self._invoice(
                    rng.choice(buyers), first - timedelta(days=rng.randint(1, 500))
                )
        orders = self._place(specs)
        for order in orders:
            roll = rng.random()
            if roll < 0.1:
                cancelled.append(order)
            elif roll < 0.14:
                quotations.append(order)
        for order in cancelled:
            order._action_cancel()
        for order in quotations:
            # back to a quotation: no sale
            order._action_cancel()
            order.action_draft()

    def _new_customer(self, index):
        """The partners who buy for one customer: a person, or a firm and
        its contacts (whose orders are the firm's)."""
        rng = self.rng
        country = rng.choice((self.poland, self.germany))
        if rng.random() < 0.3:
            firm = self._customer(f"Firm {index}", country=country, is_company=True)
            contacts = self.env["res.partner"].create(
                [
                    {"name": f"Contact {index}.{number}", "parent_id": firm.id}
                    for number in range(rng.randint(1, 2))
                ]
            )
            return [firm, *contacts]
        return [self._customer(f"Person {index}", country=country)]

    def _spec(self, buyer, company, when):
        rng = self.rng
        amount = rng.choice((0.0, 15.0, 49.99, 100.0, 120.0, 250.0, 480.0))
        product = rng.choice((self.service, self.tyres))
        seller = rng.choice((None, *self.sellers))
        return buyer, company, when, amount, product, seller

    def _place(self, specs):
        """Confirmed orders of ``specs`` (buyer, company, when, amount,
        product, salesperson), created and confirmed at once per company,
        then dated ``when`` (UTC)."""
        orders = self.env["sale.order"]
        for company in self.companies:
            mine = [spec for spec in specs if spec[1] == company]
            if not mine:
                continue
            made = (
                self.env["sale.order"]
                .with_company(company)
                .create(
                    [
                        {
                            "partner_id": buyer.id,
                            "company_id": company.id,
                            "user_id": seller.id if seller else False,
                            "order_line": [
                                Command.create(
                                    {
                                        "product_id": product.id,
                                        "product_uom_qty": 1,
                                        "price_unit": amount,
                                        "tax_id": [Command.clear()],
                                    }
                                )
                            ],
                        }
                        for buyer, _company, _when, amount, product, seller in mine
                    ]
                )
            )
            made.action_confirm()
            for order, spec in zip(made, mine, strict=True):
                order.date_order = spec[2]
            orders |= made
        return orders

    def _move(self, move_type, buyer, day, amount):
        move = (
            self.env["account.move"]
            .with_company(self.company)
            .create(
                {
                    "move_type": move_type,
                    "partner_id": buyer.id,
                    "invoice_date": day,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": self.rng.choice(
                                    (self.service, self.tyres)
                                ).id,
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )
        move.action_post()
        return move

    def _refund(self, buyer, day):
        """A credit note without an order: revenue lower, no visit."""
        return self._move("out_refund", buyer, day, self.rng.choice((10.0, 35.5, 80.0)))

    def _invoice(self, buyer, day):
        """An invoice without an order: a visit on its day."""
        return self._move("out_invoice", buyer, day, self.rng.choice((20.0, 60.0)))

    def _changes(self, now):
        """A few random changes made at ``now``, each dated then."""
        rng = self.rng
        with freeze_time(now):
            for _change in range(rng.randint(1, 6)):
                self._change(now)
        self._stamp(now)

    def _change(self, now):
        rng = self.rng
        orders = self.env["sale.order"].search(
            [("partner_id", "in", [p.id for c in self.customers for p in c])],
            order="id",
        )
        confirmed = orders.filtered(lambda order: order.state == "sale")
        kind = rng.choice(
            (
                "new",
                "new",
                "new_customer",
                "amount",
                "date",
                "cancel",
                "again",
                "customer",
                "refund",
            )
        )
        if kind in ("amount", "date", "cancel", "customer") and not confirmed:
            kind = "new"
        if kind == "new":
            buyers = rng.choice(self.customers)
            # today (on one clock or the other), or dated some days back
            back = timedelta(minutes=rng.randint(0, 20 * 60))
            if rng.random() < 0.3:
                back = timedelta(days=rng.randint(1, 90))
            company = rng.choice((self.company, self.company, self.company_ny))
            self._place([self._spec(rng.choice(buyers), company, now - back)])
        elif kind == "new_customer":
            self.customers.append(self._new_customer(len(self.customers)))
            buyers = self.customers[-1]
            self._place([self._spec(rng.choice(buyers), self.company, now)])
        elif kind == "amount":
            line = rng.choice(confirmed).order_line[:1]
            line.price_unit = rng.choice((0.0, 30.0, 75.0, 300.0, 999.0))
        elif kind == "date":
            order = rng.choice(confirmed)
            order.date_order = now - timedelta(
                days=rng.randint(0, 400), hours=rng.randint(0, 23)
            )
        elif kind == "cancel":
            rng.choice(confirmed)._action_cancel()
        elif kind == "again":
            cancelled = orders.filtered(lambda order: order.state == "cancel")
            if cancelled:
                # back to quotation and confirmed: dated now by Odoo
                order = rng.choice(cancelled)
                order.action_draft()
                order.action_confirm()
        elif kind == "customer":
            # The wrong customer: the form lets a confirmed order's customer
            # be changed after cancelling it and setting it back to a
            # quotation, then it is confirmed again (dated now by Odoo).
            order = rng.choice(confirmed)
            order._action_cancel()
            order.action_draft()
            order.partner_id = rng.choice(rng.choice(self.customers))
            order.action_confirm()
        elif kind == "refund":
            buyers = rng.choice(self.customers)
            day = now.date() - timedelta(days=rng.randint(0, 60))
            self._refund(rng.choice(buyers), day)

    def _stamp(self, when):
        """Date the writes made since the last stamp ``when``, as the
        database would have (a write's stamp is its transaction's start; the
        test runs in one transaction, of today's real date)."""
        self.env.flush_all()
        for table in ("sale_order", "account_move"):
            self.env.cr.execute(
                f"UPDATE {table} SET write_date = %s WHERE write_date > %s",  # noqa: S608 (fixed names)
                [when, FROZEN_UNTIL],
            )
        # the customers an order was moved away from, stamped alike
        self.env.cr.execute(
            "UPDATE retention_moved_customer SET moved_at = %s WHERE moved_at > %s",
            [when, FROZEN_UNTIL],
        )
        self.env.invalidate_all()

    # ------------------------------------------------------------
    # The jobs
    # ------------------------------------------------------------

    def _job(self, xmlid, now):
        """The job's calls at ``now``, as Odoo's runner makes them, until
        one finds nothing to do; returns (each company's day then, the
        stored statuses after)."""
        cron = self.env.ref(xmlid)
        with freeze_time(now), self.assertNoLogs(RUN_LOGGER, "ERROR"):
            for _call in range(20):
                cron_, progress = cron._add_progress()
                cron_.ir_actions_server_id.with_context(
                    ir_cron_progress_id=progress.id
                ).run()
                self._after_call(xmlid)
                if not progress.done and not progress.remaining:
                    break
            else:
                raise AssertionError(f"{cron.name} never ends")
            days = {
                company.id: company._retention_today() for company in self.companies
            }
        runs = self.env["retention.run"]._of(self.companies)
        self.assertEqual(runs.mapped("last_error"), [False, False])
        self.assertEqual(runs.mapped("as_of"), [False, False], "runs finished")
        return days, self._statuses()

    def _after_call(self, xmlid):
        """After each call of a job (the queue_job pass performs the jobs
        the daily job enqueued: test_queue_job)."""

    def _statuses(self):
        self.env.cr.execute(
            "SELECT company_id, partner_id, status FROM retention_partner_state"
            " WHERE company_id = ANY(%s)",
            [self.companies.ids],
        )
        return {
            (company, partner): status
            for company, partner, status in self.env.cr.fetchall()
        }

    # ------------------------------------------------------------
    # What is compared
    # ------------------------------------------------------------

    def _columns(self, table, left_out=()):
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s"
            " ORDER BY column_name",
            [table],
        )
        skip = BOOKKEEPING | set(left_out)
        return [name for (name,) in self.env.cr.fetchall() if name not in skip]

    def _rows(self, query, params):
        self.env.cr.execute(query, params)
        return sorted(
            (tuple(_plain(value) for value in row) for row in self.env.cr.fetchall()),
            key=repr,
        )

    def _snapshot(self, now):
        """table -> (columns, sorted rows) of both companies."""
        self.env.flush_all()
        with freeze_time(now):
            months = {
                company.id: company._retention_today().replace(day=1)
                for company in self.companies
            }
        snapshot = {}
        for table, left_out in COMPARED.items():
            columns = self._columns(table, left_out)
            select = ", ".join(f'"{name}"' for name in columns)
            rows = []
            for company_id, month in months.items():
                where = "company_id = %s"
                params = [company_id]
                if table == "retention_status_month":
                    where += " AND month_end >= %s"
                    params.append(month)
                rows += self._rows(
                    f"SELECT {select} FROM {table} WHERE {where}",  # noqa: S608 (names from the catalog)
                    params,
                )
            snapshot[table] = (columns, sorted(rows, key=repr))
        # Through the ORM, as the settings show it: a float never written
        # reads 0.0 like one written 0.0 (NULL or 0 in the column).
        rows = []
        runs = self.env["retention.run"]._of(self.companies)
        for values in runs.read(["company_id", *RUN_COLUMNS], load=None):
            # The models' parameters with their sample size: a night fits
            # on the customers stored and those changed since, a first run
            # on those it has just computed: the same customers.
            rows.append(
                tuple(_plain(values[name]) for name in ("company_id", *RUN_COLUMNS))
            )
        snapshot["retention_run"] = (
            ["company_id", *RUN_COLUMNS],
            sorted(rows, key=repr),
        )
        return snapshot

    def _compare(self, seed, incremental, full):
        problems = []
        for table, (columns, rows) in incremental.items():
            expected = Counter(full[table][1])
            actual = Counter(rows)
            only_incremental = sorted((actual - expected).elements(), key=repr)
            only_full = sorted((expected - actual).elements(), key=repr)
            if only_incremental or only_full:
                problems.append(
                    f"{table} ({', '.join(columns)}): "
                    f"{len(only_incremental)} row(s) only after the nights, "
                    f"{len(only_full)} only from scratch\n"
                    f"  nights:  {only_incremental[:SHOWN]}\n"
                    f"  scratch: {only_full[:SHOWN]}"
                )
        if problems:
            self.fail(
                f"seed {seed}: the nights differ from a recompute from scratch "
                f"(replay: -k seed_{seed}; companies {self.companies.ids}):\n"
                + "\n".join(problems)
            )

    def _check_status_log(self, seed, steps):
        """The status changes are those seen from job to job: per customer
        and day, one row from the status before the day's first recompute
        to the status after its last, when they differ. The first run
        records none (its statuses are no change)."""
        expected = set()
        for company in self.companies.ids:
            # the jobs of each of the company's days, in a row; the first
            # run's statuses are where the log starts
            days = [days_then[company] for days_then, _statuses in steps]
            index = 1
            while index < len(steps):
                end = index
                while end + 1 < len(steps) and days[end + 1] == days[index]:
                    end += 1
                start, after = steps[index - 1][1], steps[end][1]
                for key in {*start, *after}:
                    if key[0] == company and start.get(key) != after.get(key):
                        expected.add(
                            (
                                company,
                                key[1],
                                days[index],
                                start.get(key),
                                after.get(key),
                            )
                        )
                index = end + 1
        self.env.cr.execute(
            "SELECT company_id, partner_id, date, old_status, new_status"
            " FROM retention_status_change WHERE company_id = ANY(%s)",
            [self.companies.ids],
        )
        changes = self.env.cr.fetchall()
        actual = set(changes)
        self.assertEqual(
            sorted(actual - expected, key=repr)[:SHOWN],
            sorted(expected - actual, key=repr)[:SHOWN],
            f"seed {seed}: status changes recorded (first) vs statuses seen "
            "from job to job (second)",
        )
        # The flows of the last night's month and the one before: the
        # changes counted.
        flows = Counter()
        since = {}
        for company, day in steps[-1][0].items():
            since[company] = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
        for company, _partner, day, old, new in changes:
            if day >= since[company]:
                flows[(company, day.replace(day=1), old, new)] += 1
        self.env.cr.execute(
            "SELECT company_id, month, old_status, new_status, customers"
            " FROM retention_status_flow WHERE company_id = ANY(%s)",
            [self.companies.ids],
        )
        stored = {
            (company, month, old, new): customers
            for company, month, old, new, customers in self.env.cr.fetchall()
            if month >= since[company]
        }
        self.assertEqual(stored, dict(flows), f"seed {seed}: status flows")


def _seed_test(seed):
    def test(self):
        self._check_seed(seed)

    test.__name__ = f"test_seed_{seed}"
    test.__doc__ = f"Random history {seed}: nights and a recompute from scratch agree."
    return test


for _seed in SEEDS:
    setattr(TestIncrementalProperty, f"test_seed_{_seed}", _seed_test(_seed))
