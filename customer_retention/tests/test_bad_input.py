# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bad input never gives a traceback from the addon's code (issue 21).

Whatever a user or an integration sends over RPC, the answer is a result, a
clear UserError (ValidationError, AccessError, MissingError), or Odoo's own
error for a malformed domain: never a crash in the addon's code.

The sweep is generated: every field of the addon's models and every
``retention_*`` field of partners and companies, with every operator Odoo
accepts and a list of values of every shape, as a salesperson who sees only
their own documents; then every sortable and groupable field in ``order=``
and ``web_read_group``; then every public method of the addon with bad
arguments and bad recordsets. Each case runs in a savepoint; all failures
are collected and reported together, with the innermost frame of the
addon's code they came through.

What counts as Odoo's own error: a ValueError, TypeError or KeyError whose
traceback has no frame in the addon's code (its tests excepted; a frame
that only hands over to ``super()`` does not count). For the stored fields
of the addon's own models, which Odoo searches by itself, any other error
counts as Odoo's own when Odoo raises the same one for the same condition
on one of its own stored fields of the same type (``('id', '=', 10**30)``
is a database error on ``res.partner`` too). Anything else is a failure: an
exception raised in or passing through the addon's code that is not a
UserError, a database error, a search method's ``NotImplemented`` (Odoo 18
does not handle it: "'NotImplementedType' object is not iterable").
"""

import linecache
import logging
import os
import traceback
from datetime import date, timedelta

import psycopg2

from odoo.exceptions import UserError
from odoo.models import READ_GROUP_AGGREGATE, READ_GROUP_ALL_TIME_GRANULARITY
from odoo.osv.expression import TERM_OPERATORS
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..engine import CONTACTED
from .common import AS_OF, RetentionCase

_logger = logging.getLogger(__name__)

ADDON = "customer_retention"
ADDON_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
TESTS_DIR = os.path.join(ADDON_DIR, "tests")

# Every shape a JSON client can send (float('inf') is not JSON, 1e308 is).
VALUES = (
    5,
    0,
    -1,
    10**30,
    1.5,
    1e308,
    None,
    False,
    True,
    "",
    "x",
    "2026-13-45",
    [],
    [5],
    ["x"],
    [None],
    [[1]],
    {"a": 1},
)
# For the stored fields of the addon's own models, which Odoo searches by
# itself: each (field, operator) gets a few of these in turn, so that every
# field meets every operator and every value.
STORED_VALUES = (
    "x",
    [[1]],
    10**30,
    {"a": 1},
    "2026-13-45",
    [None],
    1.5,
    None,
    5,
    ["x"],
    True,
    [],
    -1,
    1e308,
    "",
    0,
    [5],
    False,
)
STORED_VALUES_PER_OPERATOR = 2
# Arguments of the public methods: the values above, and what Python's JSON
# reader also accepts (Infinity, NaN) or a date-like string may hold.
ARGUMENTS = (
    *VALUES,
    float("inf"),
    float("-inf"),
    float("nan"),
    -(10**30),
    "0001-01-01",
    "9999-12-31",
    "1900-01-01",
    "2025-06-30 23:59:59",
    "2025-06-30T10:00:00",
    "90",
    [2025, 6, 30],
    [1, "a"],
)
# Plain fields of partners, written for reference (see _write_reference).
PLAIN_FIELDS = {
    "many2one": "user_id",
    "integer": "color",
    "float": "partner_latitude",
    "boolean": "employee",
    "char": "ref",
    "html": "comment",
    "selection": "type",
}
# Group-by granularities that only a datetime has.
TIME_OF_DAY = ("hour", "hour_number", "minute_number", "second_number")
MISSING_ID = 2**31 - 1
# Public methods that take no input an RPC caller controls beyond what the
# table below sends, with the reason.
NOT_IN_TABLE = {
    # CREATE INDEX IF NOT EXISTS: idempotent, no argument.
    "init": "no argument; idempotent DDL",
    # res.partner's is Odoo's hook for the mail template editor.
    "mail_allowed_qweb_expressions": "no argument",
}


def addon_frames(exc):
    """Frames of the addon's code (its tests excepted) that ``exc`` was
    raised in or passed through, innermost last, chained exceptions
    included; a frame whose current statement hands over to ``super()`` is
    not the addon's doing."""
    frames, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for frame in traceback.extract_tb(exc.__traceback__):
            path = os.path.realpath(frame.filename)
            if not path.startswith(ADDON_DIR + os.sep) or path.startswith(
                TESTS_DIR + os.sep
            ):
                continue
            statement = "".join(
                linecache.getline(frame.filename, line)
                for line in range(frame.lineno, (frame.end_lineno or frame.lineno) + 1)
            )
            if "super()." in statement:
                continue
            frames.append(
                f"{os.path.relpath(path, os.path.dirname(ADDON_DIR))}:"
                f"{frame.lineno} in {frame.name}"
            )
        exc = exc.__cause__ or exc.__context__
    return frames


def short(value, size=60):
    text = repr(value)
    return text if len(text) <= size else text[: size - 3] + "..."


class BadInputCase(RetentionCase):
    """Customers with every kind of retention value, in a company on a
    clock 14 hours ahead of UTC, beside a second company; a salesperson who
    sees only their own documents, a sales manager and a settings
    administrator; a back-test, a win-back call and a win-back SMS campaign
    to call methods on."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Pacific/Kiritimati"
        cls.company_b = cls.env["res.company"].create({"name": "Bad Input Branch"})
        cls.rep = cls._user("bad_input_rep", "sales_team.group_sale_salesman")
        cls.manager = cls._user("bad_input_manager", "sales_team.group_sale_manager")
        cls.admin = cls._user(
            "bad_input_admin", "sales_team.group_sale_manager,base.group_system"
        )
        # A tree of categories: "Car care" under "Service".
        cls.care = cls.env["product.category"].create(
            {"name": "Car care", "parent_id": cls.category_service.id}
        )
        cls.wax = cls._product("Wax", cls.care)
        cls.source = cls.env["utm.source"].create({"name": "Radio"})
        cls.waxer = cls._customer("Waxer", user_id=cls.rep.id)
        cls.fading = cls._customer("Fading", user_id=cls.rep.id)
        cls.steady = cls._customer("Steady")
        cls.gone = cls._customer("Gone", user_id=cls.rep.id)
        for days in (100, 70, 40, 10):
            order = cls._order(cls.waxer, AS_OF - timedelta(days=days), 80, cls.wax)
            order.user_id = cls.rep
            order.source_id = cls.source
        for days in (160, 130, 100, 70):
            cls._order(cls.fading, AS_OF - timedelta(days=days), 50)
        for days in (30, 20, 10):
            cls._order(cls.steady, AS_OF - timedelta(days=days), 30, cls.tyres)
        cls._order(cls.gone, AS_OF - timedelta(days=500), 20)
        cls.other = cls._customer("Other Shop Customer")
        cls.other.company_id = cls.company_b
        cls._order(cls.other, AS_OF - timedelta(days=5), 60, company=cls.company_b)
        # As of the company's today (July 1st there): the summary too.
        cls.env["res.partner"].retention_recompute()
        Backtest = cls.env["retention.backtest"]
        cls.backtest = Backtest._run(cls.company, AS_OF, 90) | Backtest._run(
            cls.company, AS_OF, 30
        )
        cls.backtest_b = Backtest._run(cls.company_b, AS_OF, 90)
        cls.env["retention.call"].with_user(cls.rep)._action_plan(cls.fading | cls.gone)
        cls.calls = cls.env["retention.call"].search(
            [("company_id", "=", cls.company.id)]
        )
        cls.campaigns = cls.env["retention.sms.campaign"].create(
            [
                {
                    "company_id": company.id,
                    "user_id": cls.rep.id,
                    "queued_date": AS_OF - timedelta(days=3),
                    "line_ids": [
                        (
                            0,
                            0,
                            {
                                "partner_id": partner.id,
                                "commercial_partner_id": partner.id,
                                "kind": CONTACTED,
                                "number": "+48512000001",
                            },
                        )
                    ],
                }
                for company, partner in (
                    (cls.company, cls.fading),
                    (cls.company, cls.gone),
                    (cls.company_b, cls.other),
                )
            ]
        )
        cls.env.flush_all()

    # ------------------------------------------------------------
    # Running and judging one case
    # ------------------------------------------------------------

    def _raised(self, call, env=None):
        """The exception ``call()`` raises, or None; rolled back either way."""
        env = env or self.env
        try:
            with env.cr.savepoint():
                call()
        except Exception as exc:  # noqa: BLE001 (every exception is judged)
            env.invalidate_all()
            return exc
        return None

    def _searched(self, call):
        """The exception a search ``call()`` raises, or None: a search
        writes nothing, so one savepoint serves every case and is rolled
        back to only after an error (a third of the time of a savepoint
        per case)."""
        cr = self.env.cr
        try:
            call()
        except Exception as exc:  # noqa: BLE001 (every exception is judged)
            cr.execute("ROLLBACK TO SAVEPOINT bad_input_sweep")
            return exc
        return None

    def _addon_search(self, model, field):
        """Whether the addon searches ``field`` with a method of its own."""
        search = field.search
        if isinstance(search, str):
            search = getattr(type(model), search, None)
        return bool(search) and getattr(search, "__module__", "").startswith(
            f"odoo.addons.{ADDON}."
        )

    def _failure(self, exc, reference=None):
        """Why ``exc`` is a failure (see the module's docstring), or None.
        ``reference``: a call that raises what Odoo raises for the same
        input on one of its own fields, for errors of Odoo's own code."""
        if exc is None or isinstance(exc, UserError):
            return None
        frames = addon_frames(exc)
        if frames:
            return frames[-1]
        if isinstance(exc, psycopg2.IntegrityError):
            # What RPC answers with a ValidationError (odoo/service/model.py).
            return None
        if "NotImplementedType" in str(exc):
            return "a search method returned NotImplemented"
        if isinstance(
            exc, ValueError | TypeError | KeyError | AssertionError
        ) and not isinstance(exc, psycopg2.Error):
            # Odoo's own refusal of a malformed domain (normalize_domain
            # asserts that a subdomain is a list).
            return None
        if reference is not None:
            found = self._raised(reference)
            if found is not None and (
                type(found) is type(exc)
                or isinstance(found, psycopg2.Error)
                and isinstance(exc, psycopg2.Error)
            ):
                return None
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return (
            "no frame of the addon; raised at "
            f"{frame.filename.rsplit('/odoo/', 1)[-1]}:{frame.lineno} in {frame.name}"
        )

    def _report(self, failures, cases, started, what):
        # Wall-clock time from os.times(): the frozen clock stops time.monotonic.
        elapsed = os.times().elapsed - started
        _logger.info("%s: %d cases in %.1f s", what, cases, elapsed)
        if failures:
            lines = [
                f"{where} | {case} -> {type(exc).__name__}: "
                f"{short(str(exc).splitlines()[0] if str(exc) else '', 120)}"
                f" [{frame}]"
                for where, case, exc, frame in failures
            ]
            self.fail(
                f"{len(failures)} of {cases} {what} cases crash instead of a "
                "clear error:\n" + "\n".join(lines)
            )

    # ------------------------------------------------------------
    # What is swept
    # ------------------------------------------------------------

    def _addon_models(self):
        return sorted(
            name
            for name, model in self.env.registry.items()
            if model._original_module == ADDON and not model._abstract
        )

    def _swept_fields(self):
        """(model, field, custom): every field of the addon's models, every
        retention_* field of partners and companies; custom when the addon
        searches it itself (a search method, SQL of its own)."""
        swept = []
        for model_name in self._addon_models():
            model = self.env[model_name]
            for fname, field in model._fields.items():
                swept.append((model_name, fname, self._addon_search(model, field)))
        for model_name in ("res.partner", "res.company"):
            model = self.env[model_name]
            for fname, field in model._fields.items():
                if fname.startswith("retention_"):
                    custom = self._addon_search(model, field) or (
                        model_name == "res.partner" and not field.store
                    )
                    swept.append((model_name, fname, custom))
        return swept

    def _good_values(self, field):
        """Valid values of ``field``: what a user filters on."""
        if field.type in ("many2one", "one2many", "many2many"):
            if field.comodel_name == "product.category":
                record = self.category_service
            else:
                record = self.env[field.comodel_name].sudo().search([], limit=1)
            return (record.id, [record.id], record.display_name) if record else ()
        if field.type == "selection":
            selection = field.selection
            if callable(selection) or isinstance(selection, str):
                return ()
            return (selection[0][0], [key for key, _label in selection[:2]])
        return {
            "date": ("2025-06-01", date(2025, 6, 1)),
            "datetime": ("2025-06-01 10:00:00", "2025-06-01"),
            "integer": (3, [1, 2]),
            "float": (2.5, [1.0, 2.5]),
            "monetary": (2.5,),
            "char": ("a", ["a", "b"]),
            "text": ("a",),
            "boolean": (True,),
        }.get(field.type, ())

    def _reference_field(self, field):
        """(model, field) of the stored field of Odoo's own most like
        ``field``: same type, same comodel when one has it, digits or not;
        None when Odoo has none."""
        if field.name == "id":
            return "res.partner", "id"
        model = self.env[field.model_name]
        rec_name = model._fields.get(model._rec_name)
        if field.name == "display_name" and rec_name and rec_name.store:
            # Odoo searches it as the same condition on the _rec_name field.
            return self._reference_field(rec_name)
        key = (
            field.type,
            field.comodel_name,
            field.type == "float" and not field.get_digits(self.env),
            bool(field.relational and field.domain),
            field.type == "one2many"
            and self.env[field.comodel_name]._fields[field.inverse_name].type,
        )
        cache = type(self).__dict__.get("_references")
        if cache is None:
            cache = type(self)._references = {}
        if key not in cache:
            cache[key] = None
            for comodel in (True, False):
                for model_name in [
                    "res.partner",
                    "sale.order",
                    *sorted(self.env.registry),
                ]:
                    model = self.env[model_name]
                    if (
                        model._original_module == ADDON
                        or model._abstract
                        or model._transient
                        or not model._auto
                    ):
                        continue
                    found = next(
                        (
                            fname
                            for fname, candidate in model._fields.items()
                            if candidate.store
                            and candidate._module != ADDON
                            and not candidate.compute
                            and not candidate.related
                            and not candidate.company_dependent
                            and not candidate.translate
                            and fname != "id"
                            and (
                                candidate.type,
                                candidate.comodel_name
                                if comodel
                                else field.comodel_name,
                                candidate.type == "float"
                                and not candidate.get_digits(self.env),
                                bool(candidate.relational and candidate.domain),
                                candidate.type == "one2many"
                                and self.env[candidate.comodel_name]
                                ._fields[candidate.inverse_name]
                                .type,
                            )
                            == key
                        ),
                        None,
                    )
                    if found:
                        cache[key] = (model_name, found)
                        break
                if cache[key]:
                    break
        return cache[key]

    def _reference(self, field, operator, value):
        """The same condition on the stored field of Odoo's own most like
        ``field``, as superuser."""
        reference = self._reference_field(field)
        if not reference:
            return None
        Model = self.env[reference[0]].sudo()
        return lambda: Model.search([(reference[1], operator, value)], limit=1)

    def _write_reference(self, field, value, create=False):
        """Writing (or creating with) ``value`` on a field of Odoo's own of
        the same type, as superuser: a plain field of partners where there
        is one (no constraint or computation of its own that reads the
        value), else the field most like ``field``."""
        if field.type in PLAIN_FIELDS:
            model_name, fname = "res.partner", PLAIN_FIELDS[field.type]
        else:
            reference = self._reference_field(field)
            if not reference:
                return None
            model_name, fname = reference
        Model = self.env[model_name].sudo()
        if create:
            required = {
                "res.partner": {"name": "Reference"},
                "sale.order": {"partner_id": self.waxer.id},
            }.get(model_name)
            if required is None:
                return None
            return lambda: (
                Model.create({**required, fname: value}),
                Model.env.flush_all(),
            )
        record = Model.search([], limit=1)
        return lambda: (record.write({fname: value}), record.env.flush_all())

    def _rep_env(self, model_name):
        return self.env(user=self.rep)[model_name]


@tagged("post_install", "-at_install")
class TestBadInput(BadInputCase):
    def test_known_cases(self):
        """The cases of issue 21, one by one."""
        Partner = self._rep_env("res.partner")
        # Categories are a tree: "Service" with its children finds the
        # customer whose main category is "Car care".
        self.assertEqual(self.waxer.retention_main_categ_id, self.care)
        found = Partner.search(
            [("retention_main_categ_id", "child_of", self.category_service.id)]
        )
        self.assertIn(self.waxer, found)
        self.assertNotIn(self.steady, found)
        self.assertIn(
            self.waxer,
            Partner.search(
                [("retention_main_categ_id", "child_of", [self.category_service.id])]
            ),
        )
        self.assertIn(
            self.waxer,
            Partner.search([("retention_main_categ_id", "parent_of", self.care.id)]),
        )
        self.assertIn(
            self.waxer,
            Partner.search([("retention_main_categ_id", "child_of", "Service")]),
        )
        # No tree: a record is its own child and parent.
        for fname, record in (
            ("retention_preferred_user_id", self.rep),
            ("retention_first_source_id", self.source),
        ):
            self.assertEqual(self.waxer[fname], record, fname)
            for operator in ("child_of", "parent_of"):
                found = Partner.search([(fname, operator, record.id)])
                self.assertIn(self.waxer, found, (fname, operator))
                self.assertEqual(
                    found, Partner.search([(fname, "=", record.id)]), operator
                )
        # A single value where a list is expected, as Odoo's own fields.
        self.assertEqual(
            Partner.search([("retention_status", "in", "lost")]),
            Partner.search([("retention_status", "in", ["lost"])]),
        )
        for domain in (
            [("retention_contact", "in", 5)],
            [("retention_recent_change", "in", 5)],
            [("retention_age_band", "=", "x")],
        ):
            exc = self._raised(lambda domain=domain: Partner.search(domain))
            self.assertIsNone(self._failure(exc), (domain, exc))
        manager_company = self.company.with_user(self.manager)
        for kwargs in (
            {"horizon_days": float("inf")},
            {"horizon_days": float("nan")},
            {"horizon_days": 10**30},
            {"horizon_days": "x"},
            {"as_of": "2026-13-45"},
            {"as_of": "99999-01-01"},
            {"as_of": ["2025-06-30"]},
        ):
            with self.assertRaises(UserError, msg=kwargs):
                manager_company.retention_backtest(**kwargs)
        Wizard = self._rep_env("retention.sms.wizard")
        for value in (None, 1.5, "x", [1, "a"], True):
            with self.assertRaises(UserError, msg=value):
                Wizard.action_open(value)
        # One id where a list is expected, as Odoo's own fields accept.
        action = Wizard.action_open(self.fading.id)
        self.assertEqual(
            action["context"]["retention_sms_partner_ids"], self.fading.ids
        )
        Report = self._rep_env("retention.report").with_context(active_domain=5)
        with self.assertRaises(UserError):
            Report.action_open_customers()

    def test_domain_sweep(self):
        """Every field x every operator x every value, as a salesperson."""
        failures, cases, started = [], 0, os.times().elapsed
        turn = 0
        self.env.flush_all()
        self.env.cr.execute("SAVEPOINT bad_input_sweep")
        with mute_logger(
            "odoo.osv.expression", "odoo.sql_db", "odoo.models", "odoo.fields"
        ):
            for model_name, fname, custom in self._swept_fields():
                Model = self._rep_env(model_name)
                field = Model._fields[fname]
                good = self._good_values(field)
                for operator in TERM_OPERATORS:
                    if custom:
                        values = (*VALUES, *good)
                    else:
                        values = [
                            STORED_VALUES[(turn + step) % len(STORED_VALUES)]
                            for step in range(STORED_VALUES_PER_OPERATOR)
                        ]
                        turn += STORED_VALUES_PER_OPERATOR
                    for value in values:
                        cases += 1
                        domain = [(fname, operator, value)]
                        exc = self._searched(
                            lambda Model=Model, domain=domain: Model.search(
                                domain, limit=1
                            )
                        )
                        if exc is None:
                            continue
                        frame = self._failure(
                            exc, self._reference(field, operator, value)
                        )
                        if frame:
                            failures.append(
                                (
                                    f"{model_name}.{fname}",
                                    f"{operator} {short(value)}",
                                    exc,
                                    frame,
                                )
                            )
        self._report(failures, cases, started, "domain")

    def test_order_and_group_sweep(self):
        """Every field in ``order=``, as a group-by (with every granularity
        of dates) and with every aggregate, as a salesperson."""
        failures, cases, started = [], 0, os.times().elapsed

        def attempt(where, case, field, call):
            """``call(Model, fname)`` on the field, and on Odoo's own field
            most like it for reference."""
            nonlocal cases
            cases += 1
            Model = self._rep_env(field.model_name)
            exc = self._raised(lambda: call(Model, field.name))
            reference = self._reference_field(field)
            frame = self._failure(
                exc,
                reference
                and (lambda: call(self.env[reference[0]].sudo(), reference[1])),
            )
            if frame:
                failures.append((where, case, exc, frame))

        with mute_logger(
            "odoo.osv.expression", "odoo.sql_db", "odoo.models", "odoo.fields"
        ):
            for model_name, fname, custom in self._swept_fields():
                field = self.env[model_name]._fields[fname]
                where = f"{model_name}.{fname}"
                for direction in ("", " desc nulls first"):
                    attempt(
                        where,
                        f"order={fname + direction!r}",
                        field,
                        lambda Model, name, direction=direction: Model.search(
                            [], order=name + direction, limit=3
                        ),
                    )
                granularities = [""]
                if field.type in ("date", "datetime"):
                    # Not the time of day of a date: Odoo fails on its own
                    # date fields too (babel formats the date as a time).
                    granularities += [
                        f":{granularity}"
                        for granularity in READ_GROUP_ALL_TIME_GRANULARITY
                        if field.type == "datetime" or granularity not in TIME_OF_DAY
                    ]
                for granularity in granularities:
                    attempt(
                        where,
                        f"web_read_group groupby={fname + granularity!r}",
                        field,
                        lambda Model, name, granularity=granularity: (
                            Model.web_read_group(
                                [],
                                ["__count"],
                                [name + granularity],
                                limit=5,
                                orderby=f"{name} desc",
                            )
                        ),
                    )
                numeric = field.type in ("integer", "float", "monetary")
                aggregates = (
                    READ_GROUP_AGGREGATE
                    if custom or numeric
                    else ("count_distinct", "max")
                )
                for aggregate in aggregates:
                    attempt(
                        where,
                        f"read_group {fname}:{aggregate}",
                        field,
                        lambda Model, name, aggregate=aggregate: Model.read_group(
                            [], [f"{name}:{aggregate}"], []
                        ),
                    )
        self._report(failures, cases, started, "order and group")

    # ------------------------------------------------------------
    # Public methods
    # ------------------------------------------------------------

    def _public_methods(self):
        """(model, method) of every public method the addon defines, on its
        models and on the models it extends."""
        found = set()
        for model_name, model in self.env.registry.items():
            for cls in type(model).__mro__:
                if not cls.__module__.startswith(f"odoo.addons.{ADDON}."):
                    continue
                for name, member in vars(cls).items():
                    if callable(member) and not name.startswith("_"):
                        if not isinstance(member, type):
                            found.add((model_name, name))
        return found

    def _recordsets(self):
        """model -> (user, {kind: recordset}) of the recordsets public
        methods are called on."""
        env = self.env
        rep_wizard = self._sms_wizard(self.rep)
        admin_wizard = self._sms_wizard(self.admin)
        outcome = self._outcome_wizard(self.rep, self.calls[:1])
        reports = env["retention.report"].search([])
        gaps = env["retention.category.gap"].search([])
        settings = env(user=self.admin)["res.config.settings"].create({})
        own = {
            "res.partner": (self.rep, self.waxer, self.fading, self.other),
            "res.company": (self.manager, self.company, self.company_b, None),
            "retention.backtest": (
                self.rep,
                self.backtest[0],
                self.backtest[1],
                self.backtest_b,
            ),
            "retention.call": (self.rep, self.calls[0], self.calls[1], None),
            "retention.sms.campaign": (
                self.rep,
                self.campaigns[0],
                self.campaigns[1],
                self.campaigns[2],
            ),
            "retention.report": (
                self.rep,
                reports.filtered(lambda r: r.company_id == self.company)[:1],
                reports.filtered(lambda r: r.company_id == self.company)[1:2],
                reports.filtered(lambda r: r.company_id == self.company_b)[:1],
            ),
            "retention.category.gap": (
                self.rep,
                gaps.filtered(lambda r: r.company_id == self.company)[:1],
                gaps.filtered(lambda r: r.company_id == self.company)[1:2],
                gaps.filtered(lambda r: r.company_id == self.company_b)[:1],
            ),
            "retention.sms.wizard": (self.rep, rep_wizard, None, admin_wizard),
            "retention.call.outcome.wizard": (self.rep, outcome, None, None),
            "res.config.settings": (self.admin, settings, None, None),
        }
        recordsets = {}
        for model_name, (user, good, second, other) in own.items():
            Model = env(user=user)[model_name]
            kinds = {
                "good": good,
                "empty": Model.browse(),
                "missing": Model.browse(MISSING_ID),
            }
            if second:
                kinds["two"] = good | second
            if other:
                kinds["other_company"] = other
            recordsets[model_name] = (
                user,
                {kind: records.with_user(user) for kind, records in kinds.items()},
            )
        return recordsets

    def _sms_wizard(self, user):
        return (
            self.env(user=user)["retention.sms.wizard"]
            .with_context(active_model="res.partner", active_ids=self.fading.ids)
            .create({})
        )

    def _outcome_wizard(self, user, call):
        return self.env(user=user)["retention.call.outcome.wizard"].create(
            {"call_id": call.id, "outcome": "no_answer"}
        )

    def _follow(self, env, result):
        """What the web client does next with an action: search its domain
        (in its context)."""
        if (
            not isinstance(result, dict)
            or result.get("type") != "ir.actions.act_window"
        ):
            return
        if "domain" in result:
            context = result.get("context") or {}
            env[result["res_model"]].with_context(**context).search(
                result["domain"], limit=3
            )

    def test_public_methods(self):
        """Every public method of the addon with bad arguments and on bad
        recordsets (empty, a missing id, two records, another company's), as
        the least-privileged user who may call it."""
        failures, cases, started = [], 0, os.times().elapsed
        covered = set()

        def attempt(model_name, method, case, user, call, reference=None):
            nonlocal cases
            cases += 1
            covered.add((model_name, method))
            env = self.env(user=user)

            def run():
                self._follow(env, call(env))

            exc = self._raised(run, env)
            frame = self._failure(exc, reference)
            if frame:
                failures.append((f"{model_name}.{method}", case, exc, frame))

        # Methods on recordsets, without arguments.
        record_methods = {
            "res.partner": (
                "action_retention_recompute",
                "action_retention_plan_call",
                "action_retention_call_outcome",
                "action_retention_mark_moved_away",
                "action_retention_mark_do_not_contact",
                "action_retention_clear_contact_block",
                "mail_allowed_qweb_expressions",
            ),
            "res.company": ("retention_backtest", "action_retention_apply_calibrated"),
            "retention.backtest": ("action_open",),
            "retention.call": ("action_record_outcome",),
            "retention.sms.campaign": (
                "action_measure",
                "action_open_contacted",
                "action_open_holdout",
                "action_open_skipped",
                "action_open_won",
            ),
            "retention.report": ("action_open_customers",),
            "retention.category.gap": ("action_open_non_buyers",),
            "retention.sms.wizard": ("action_queue", "action_open_skipped"),
            "retention.call.outcome.wizard": ("action_confirm",),
            "res.config.settings": (
                "action_retention_recompute",
                "action_retention_plan_calls",
                "action_retention_backtest",
                "action_retention_apply_calibrated",
            ),
        }
        with mute_logger(
            "odoo.osv.expression", "odoo.sql_db", "odoo.models", "odoo.fields"
        ):
            recordsets = self._recordsets()
            for model_name, methods in record_methods.items():
                user, kinds = recordsets[model_name]
                for method in methods:
                    method_user = (
                        self.admin
                        if method == "action_retention_apply_calibrated"
                        else user
                    )
                    for kind, records in kinds.items():
                        attempt(
                            model_name,
                            method,
                            f"on {kind} {records}",
                            method_user,
                            lambda env, records=records, method=method: getattr(
                                records.with_env(env), method
                            )(),
                        )
            for case in self._argument_cases():
                model_name, method, user, call, values, reference = case
                for value in values:
                    attempt(
                        model_name,
                        method,
                        f"{short(value)}",
                        user,
                        lambda env, call=call, value=value: call(env, value),
                        reference(value) if reference else None,
                    )
            for model_name, fname, user, records in self._write_cases():
                field = records._fields[fname]
                for value in STORED_VALUES:
                    reference = self._write_reference(field, value)
                    attempt(
                        model_name,
                        "write",
                        f"{fname}={short(value)}",
                        user,
                        lambda env, records=records, fname=fname, value=value: (
                            records.with_env(env).write({fname: value}),
                            env.flush_all(),
                        ),
                        reference,
                    )
        missing = sorted(
            f"{model_name}.{method}"
            for model_name, method in self._public_methods() - covered
            if method not in NOT_IN_TABLE
            and method not in ("create", "write", "unlink", "default_get")
        )
        self.assertFalse(
            missing, "public methods without bad-input cases in test_public_methods"
        )
        self._report(failures, cases, started, "public method")

    def _argument_cases(self):
        """(model, method, user, call(env, value), values, reference)."""
        good_ids = self.waxer.ids
        malformed_domains = (
            "[('id', '=', 1)]",
            [("nope", "=", 1)],
            [("partner_id", "bogus", 1)],
            ["|"],
            [("partner_id", "=", 1, 2)],
            [("partner_id", "in", [[1]])],
            [("company_id", "child_of", "x")],
        )
        call_id = self.calls[0].id
        return [
            (
                "res.partner",
                "retention_recompute",
                self.manager,
                lambda env, value: env["res.partner"].retention_recompute(as_of=value),
                ARGUMENTS,
                None,
            ),
            (
                "res.company",
                "retention_backtest",
                self.manager,
                lambda env, value: self.company.with_env(env).retention_backtest(
                    as_of=value
                ),
                ARGUMENTS,
                None,
            ),
            (
                "res.company",
                "retention_backtest",
                self.manager,
                lambda env, value: self.company.with_env(env).retention_backtest(
                    horizon_days=value
                ),
                (*ARGUMENTS, 7.5, 90.0, 730.9, "7"),
                None,
            ),
            (
                "retention.backtest",
                "action_run_now",
                self.manager,
                lambda env, value: env["retention.backtest"].action_run_now(),
                (None,),
                None,
            ),
            (
                "retention.sms.wizard",
                "action_open",
                self.rep,
                lambda env, value: self._open_sms_wizard(env, value),
                (*ARGUMENTS, good_ids, self.fading.id),
                None,
            ),
            (
                "res.partner",
                "retention_first_run_notice",
                self.rep,
                lambda env, value: env["res.partner"].retention_first_run_notice(),
                (None,),
                None,
            ),
            (
                "res.partner",
                "get_empty_list_help",
                self.rep,
                lambda env, value: env["res.partner"]
                .with_context(retention_list=1)
                .get_empty_list_help(value),
                ARGUMENTS,
                None,
            ),
            (
                "retention.sms.wizard",
                "default_get",
                self.rep,
                lambda env, value: self._sms_defaults(
                    env, {"retention_sms_partner_ids": value}
                ),
                (*ARGUMENTS, good_ids),
                None,
            ),
            (
                "retention.sms.wizard",
                "default_get",
                self.rep,
                lambda env, value: self._sms_defaults(
                    env, {"active_model": "res.partner", "active_ids": value}
                ),
                (*ARGUMENTS, good_ids),
                None,
            ),
            (
                "retention.sms.wizard",
                "default_get",
                self.rep,
                lambda env, value: env["retention.sms.wizard"].default_get(value),
                ARGUMENTS,
                None,
            ),
            (
                "retention.sms.wizard",
                "create",
                self.rep,
                lambda env, value: env["retention.sms.wizard"]
                .create({"selected_ids": value})
                .read(["send_count", "skip_count", "preview"]),
                (*ARGUMENTS, good_ids),
                self._field_reference(
                    "retention.sms.wizard", "selected_ids", create=True
                ),
            ),
            (
                "retention.sms.wizard",
                "create",
                self.rep,
                lambda env, value: env["retention.sms.wizard"]
                .create({"selected_ids": good_ids, "holdout_percent": value})
                .read(["send_count", "holdout_count"]),
                ARGUMENTS,
                self._field_reference(
                    "retention.sms.wizard", "holdout_percent", create=True
                ),
            ),
            (
                "retention.sms.wizard",
                "action_open_skipped",
                self.rep,
                lambda env, value: self._sms_wizard(env.user)
                .with_context(reason=value)
                .action_open_skipped(),
                (*ARGUMENTS, "no_number"),
                None,
            ),
            (
                "retention.report",
                "action_open_customers",
                self.rep,
                lambda env, value: env["retention.report"]
                .with_context(active_domain=value)
                .action_open_customers(),
                (*ARGUMENTS, *malformed_domains, [("returned", "=", False)]),
                None,
            ),
            (
                "retention.call.outcome.wizard",
                "default_get",
                self.rep,
                lambda env, value: env["retention.call.outcome.wizard"]
                .with_context(active_model="retention.call", active_id=value)
                .default_get(["call_id", "outcome", "partner_id"]),
                (*ARGUMENTS, call_id),
                None,
            ),
            (
                "retention.call.outcome.wizard",
                "create",
                self.rep,
                lambda env, value: env["retention.call.outcome.wizard"]
                .create({"call_id": value, "outcome": "no_answer"})
                .action_confirm(),
                (*ARGUMENTS, call_id),
                self._field_reference(
                    "retention.call.outcome.wizard", "call_id", create=True
                ),
            ),
            (
                "retention.call.outcome.wizard",
                "create",
                self.rep,
                lambda env, value: env["retention.call.outcome.wizard"]
                .create({"call_id": call_id, "outcome": value})
                .action_confirm(),
                (*ARGUMENTS, "won_back"),
                self._field_reference(
                    "retention.call.outcome.wizard", "outcome", create=True
                ),
            ),
            (
                "retention.call.outcome.wizard",
                "create",
                self.rep,
                lambda env, value: env["retention.call.outcome.wizard"]
                .create({"call_id": call_id, "outcome": "no_answer", "note": value})
                .action_confirm(),
                ARGUMENTS,
                self._field_reference(
                    "retention.call.outcome.wizard", "note", create=True
                ),
            ),
            (
                "retention.call",
                "write",
                self.rep,
                lambda env, value: self.calls[0].with_env(env).write({"note": value}),
                ARGUMENTS,
                self._field_reference("retention.call", "note"),
            ),
            (
                "retention.call",
                "write",
                self.rep,
                lambda env, value: self.calls[0]
                .with_env(env)
                .write({"outcome": value}),
                ARGUMENTS,
                self._field_reference("retention.call", "outcome"),
            ),
            (
                "mail.activity",
                "write",
                self.rep,
                lambda env, value: (
                    self.calls[0].activity_id.with_env(env).write({"user_id": value}),
                    env.flush_all(),
                ),
                (*STORED_VALUES, self.manager.id),
                lambda value: lambda: (
                    self.waxer.write({"user_id": value}),
                    self.env.flush_all(),
                ),
            ),
            (
                "mail.activity",
                "unlink",
                self.rep,
                lambda env, value: env["mail.activity"].browse(value).unlink(),
                (MISSING_ID, [MISSING_ID], self.calls[1].activity_id.id),
                None,
            ),
            (
                "res.partner",
                "write",
                self.rep,
                lambda env, value: self.waxer.with_env(env).write(
                    {"retention_contact_block": value}
                ),
                ARGUMENTS,
                self._field_reference("res.partner", "retention_contact_block"),
            ),
            (
                "res.partner",
                "create",
                self.rep,
                lambda env, value: env["res.partner"].create(
                    {"name": "New", "retention_status": value}
                ),
                ARGUMENTS,
                None,
            ),
            (
                "res.partner",
                "unlink",
                self.admin,
                lambda env, value: env["res.partner"].browse(value).unlink(),
                (MISSING_ID, [MISSING_ID]),
                None,
            ),
            (
                "res.users",
                "unlink",
                self.admin,
                lambda env, value: env["res.users"].browse(value).unlink(),
                (MISSING_ID, [MISSING_ID]),
                None,
            ),
            (
                "crm.team",
                "unlink",
                self.admin,
                lambda env, value: env["crm.team"].browse(value).unlink(),
                (MISSING_ID, [MISSING_ID]),
                None,
            ),
            (
                "res.config.settings",
                "create",
                self.admin,
                lambda env, value: env["res.config.settings"]
                .create({"retention_cutoff_date": value})
                .execute(),
                ARGUMENTS,
                self._field_reference("res.company", "retention_cutoff_date"),
            ),
        ]

    def _field_reference(self, model_name, fname, create=False):
        """reference(value): writing (creating with) the value on a field of
        Odoo's own like ``fname``."""
        field = self.env[model_name]._fields[fname]
        return lambda value: self._write_reference(field, value, create)

    def _open_sms_wizard(self, env, partner_ids):
        action = env["retention.sms.wizard"].action_open(partner_ids)
        self._sms_defaults(env, action["context"])
        return action

    def _sms_defaults(self, env, context):
        Wizard = env["retention.sms.wizard"].with_context(**context)
        values = Wizard.default_get(list(Wizard._fields))
        return Wizard.create(values).read(["send_count", "skip_count"])

    def _write_cases(self):
        """(model, field, user, records): the settings a Settings
        administrator writes on the company (its stored retention_*
        fields that are not read-only)."""
        company = self.company.with_user(self.admin)
        return [
            ("res.company", fname, self.admin, company)
            for fname, field in company._fields.items()
            if fname.startswith("retention_")
            and field.store
            and not field.readonly
            and not field.compute
        ]
