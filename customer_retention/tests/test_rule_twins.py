# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Each SQL twin of an engine rule (models/retention_rules.py) says what the
rule says: both run on the same random rows, PostgreSQL on a VALUES list, the
engine on arrays, and must agree row by row."""

import inspect
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd

from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..engine import STATUSES, rules
from ..models import retention_rules

ROWS = 600
TODAY = date(2026, 3, 15)


def _random_column(rng, kind):
    """Random values of a column kind, with the edge cases each time: no
    value (NULL / False), the day itself, the day before and after."""
    if kind == "status":
        choices = [key for key, _label in STATUSES] + [None]
        return [choices[i] for i in rng.integers(0, len(choices), ROWS)]
    offsets = rng.integers(-400, 400, ROWS)
    values = [
        None if rng.random() < 0.1 else TODAY + timedelta(days=int(offset))
        for offset in offsets
    ]
    values[:4] = [None, TODAY, TODAY - timedelta(days=1), TODAY + timedelta(days=1)]
    return values


def _normalise(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@tagged("post_install", "-at_install")
class TestRuleTwins(TransactionCase):
    def _sql_values(self, twin, kinds, columns, with_day):
        cr = self.env.cr
        types = {"status": "varchar", "date": "date"}
        names = [f"c{i}" for i in range(len(kinds))]
        rows = SQL(", ").join(
            SQL(
                "(%s, %s)",
                index,
                SQL(", ").join(
                    SQL("%s::%s", value, SQL(types[kind]))
                    for value, kind in zip(row, kinds, strict=True)
                ),
            )
            for index, row in enumerate(zip(*columns, strict=True))
        )
        args = [SQL.identifier("v", name) for name in names]
        if with_day:
            args.append(TODAY)
        cr.execute(
            SQL(
                "SELECT %s FROM (VALUES %s) AS v(i, %s) ORDER BY v.i",
                twin(*args),
                rows,
                SQL(", ").join(SQL.identifier(name) for name in names),
            )
        )
        return [row[0] for row in cr.fetchall()]

    def test_every_twin_agrees_with_its_rule(self):
        rng = np.random.default_rng(20261207)
        for twin, (rule, kinds, with_day) in retention_rules.TWINS.items():
            with self.subTest(rule=rule.__name__):
                columns = [_random_column(rng, kind) for kind in kinds]
                engine = rule(*columns, TODAY) if with_day else rule(*columns)
                database = self._sql_values(twin, kinds, columns, with_day)
                # Odoo's empty field is False, not None: the rule says the same.
                odoo_columns = [
                    [False if value is None else value for value in column]
                    for column in columns
                ]
                from_odoo = (
                    rule(*odoo_columns, TODAY) if with_day else rule(*odoo_columns)
                )
                for index, (ours, theirs, odoo) in enumerate(
                    zip(engine, database, from_odoo, strict=True)
                ):
                    row = [column[index] for column in columns]
                    self.assertEqual(_normalise(ours), _normalise(theirs), row)
                    self.assertEqual(_normalise(ours), _normalise(odoo), row)

    def test_the_sort_on_days_since_is_the_order_of_the_days(self):
        rng = np.random.default_rng(7)
        last = _random_column(rng, "date")
        days = rules.days_since(last, TODAY)
        for descending in (True, False):
            for nulls_first in (True, False):
                self.env.cr.execute(
                    SQL(
                        "SELECT v.i FROM unnest(%s::date[]) WITH ORDINALITY AS v(d, i)"
                        " ORDER BY %s, v.i",
                        last,
                        retention_rules.days_since_order(
                            SQL.identifier("v", "d"), descending, nulls_first
                        ),
                    )
                )
                order = [row[0] - 1 for row in self.env.cr.fetchall()]
                known = [i for i in range(len(last)) if not math.isnan(days[i])]
                unknown = [i for i in range(len(last)) if math.isnan(days[i])]
                known.sort(key=lambda i: (-days[i] if descending else days[i], i))
                expected = unknown + known if nulls_first else known + unknown
                self.assertEqual(order, expected, (descending, nulls_first))

    def test_every_twin_is_compared(self):
        # A twin added to the module without a row in TWINS fails here.
        twins = {
            function
            for name, function in inspect.getmembers(
                retention_rules, inspect.isfunction
            )
            if function.__module__ == retention_rules.__name__
            and not name.startswith("_")
        }
        self.assertEqual(
            twins - set(retention_rules.TWINS), {retention_rules.days_since_order}
        )

    def test_the_sql_peer_counter_counts_as_the_engine(self):
        """The hourly job's peers, counted in PostgreSQL
        (retention_store.peer_counter), give the engine's counts of the same
        stored rows (engine count_peers_in, the twin of one list of
        everybody): random revenues with ties, peers without a group, the
        customers recomputed left out, a group nobody stored is in."""
        from ..engine.metrics import count_peers_in
        from ..models import retention_store

        rng = np.random.default_rng(11)
        company = self.env["res.company"].create({"name": "Twin Peers"})
        countries = self.env["res.country"].search([], limit=2)
        company.retention_group_field = "country_id"
        partners = self.env["res.partner"].create(
            [
                {
                    "name": f"Peer {index}",
                    "country_id": [False, *countries.ids][index % 3],
                }
                for index in range(90)
            ]
        )
        amounts = [0.0, 5.0, 10.0, 10.01, 20.5, 99.99, 150.0]
        revenue = [amounts[i] for i in rng.integers(0, len(amounts), len(partners))]
        self.env.flush_all()
        self.env.cr.execute(
            "INSERT INTO retention_partner_state (company_id, partner_id, revenue)"
            " SELECT %s, p, r FROM unnest(%s::int[], %s::float8[]) AS t(p, r)",
            [company.id, partners.ids, revenue],
        )
        excluded = partners.ids[::7]
        peers = pd.DataFrame(
            {
                "company_id": company.id,
                "group_key": [p.country_id.id or None for p in partners],
                "revenue": revenue,
                "partner_id": partners.ids,
            }
        )
        peers = peers[~peers["partner_id"].isin(excluded)]
        thresholds = pd.DataFrame(
            {
                "company_id": company.id,
                "group_key": [None, *countries.ids, 999999] * 4,
                "revenue": [5.0, 10.0, 10.01, 20.0, 150.0, 0.5, 99.99, 10.0]
                + [200.0, 1.0, 20.5, 10.005, 0.01, 5.0, 150.0, 99.99],
            }
        ).drop_duplicates(["group_key", "revenue"])
        engine = count_peers_in(peers, {company.id: 2})(thresholds)
        database = retention_store.peer_counter(company, excluded)(thresholds)
        self.assertEqual(database["above"].tolist(), engine["above"].tolist())
        self.assertEqual(database["peers"].tolist(), engine["peers"].tolist())
        self.assertGreater(engine["above"].sum(), 0)
