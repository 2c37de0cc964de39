# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Peer groups calibrated on their own, in a real database.

The peer group is the country (the default): Poland and Germany. The
calibration as of AS_OF replays two horizons: flags as of R2 = AS_OF - 90
judged on the orders up to AS_OF, and flags as of R1 = AS_OF - 180 judged on
those up to R2. Everybody orders every 20 days (the usual interval), from 400
days before AS_OF:

    group    customers  last order      as of R1           as of R2
                        (days before)
    Poland   4 regular  5               stays              stays
             2          240 (R1 + 60)   since 60, leaves   since 150, leaves
             3          150 (R2 + 60)   stays              since 60, leaves
             1 late     60              stays              stays
    Germany  2          300 (R1 + 120)  since 120, leaves  since 210, leaves
             3 gappy    5, with a gap   since 60, stays    since 60, stays
                        from 60 days
                        before R1 and
                        R2 to 10 after
             1 late     60              stays              stays

With the thresholds of a small grid (factor 1, minimum 40 or 100 days,
dormant 365) and the defaults (1.5 x 20 = 30 days):
- the company as of R2: 30 days catches the 7 leavers and flags the 3
  gappy stayers of 9 (J 1 - 3/9 = 0.667); 100 days catches 4 of 7 (0.571):
  the company keeps the defaults;
- Poland: 30 days is perfect on both horizons: nothing better, no own;
- Germany: 30 days flags its 3 gappy stayers with its 2 leavers (J 1 - 3/4
  = 0.25), 100 days only the leavers (J 1), as of R1 and as of R2: chosen
  as of R1, 100 days did better as of R2: its own thresholds.
The late customers, 60 days after their last order on AS_OF, are at risk
against 30 days and not against 100.
"""

import sys
from datetime import timedelta
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.retention_backtest import RetentionBacktest
from .common import AS_OF, RetentionCase

ENGINE_BACKTEST = "odoo.addons.customer_retention.engine.backtest"
R1, R2 = 180, 90
GRID = {
    "at_risk_factor": (1.0,),
    "min_at_risk_days": (40, 100),
    "dormant_days": (365,),
}


def _days(last, skip=()):
    """Days before AS_OF of orders every 20 days from 400 down to ``last``,
    without those strictly inside the (from, to) ranges of ``skip``."""
    return [
        day
        for day in range(last, 401, 20)
        if not any(end < day < start for start, end in skip)
    ]


def _gappy_days():
    gaps = ((R1 + 60, R1 - 10), (R2 + 60, R2 - 10))
    return _days(5, skip=gaps) + [day for gap in gaps for day in gap]


@tagged("post_install", "-at_install")
class TestBacktestPeerGroups(RetentionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.retention_group_field = "country_id"
        groups = {
            # name: (country, count, days before AS_OF of the orders)
            "regular": (cls.poland, 4, _days(5)),
            "left_before_r1": (cls.poland, 2, _days(R1 + 60)),
            "left_before_r2": (cls.poland, 3, _days(R2 + 60)),
            "late_pl": (cls.poland, 1, _days(60)),
            "left_long_ago": (cls.germany, 2, _days(R1 + 120)),
            "gappy": (cls.germany, 3, _gappy_days()),
            "late_de": (cls.germany, 1, _days(60)),
        }
        cls.members = {}
        specs = []
        for name, (country, count, days) in groups.items():
            partners = cls.env["res.partner"]
            for number in range(count):
                partner = cls._customer(f"{name} {number + 1}", country=country)
                partners |= partner
                specs += [(partner, AS_OF - timedelta(days=day)) for day in days]
            cls.members[name] = partners
        cls._confirmed_orders(specs)
        cls.manager = cls._user("groups_manager", "sales_team.group_sale_manager")
        cls.salesman = cls._user("groups_salesman", "sales_team.group_sale_salesman")

    def _backtest(self):
        """The back-test as of today, with limits small enough for 16
        customers (5 a group, 2 of each outcome) and the small grid."""
        engine = sys.modules[ENGINE_BACKTEST]
        with (
            patch.object(RetentionBacktest, "_min_customers", 5),
            patch.object(RetentionBacktest, "_min_group_customers", 5),
            patch.object(engine, "MIN_OUTCOME", 2),
            patch.dict(engine.GRID, GRID, clear=True),
        ):
            action = self.company.with_user(self.manager).retention_backtest()
        return self.env["retention.backtest"].browse(action["res_id"])

    def _statuses(self):
        return {
            name: set(partners.with_company(self.company).mapped("retention_status"))
            for name, partners in self.members.items()
        }

    def test_a_group_gets_its_own_thresholds_where_they_carry_over(self):
        backtest = self._backtest()
        # The company keeps the defaults (J 0.667 as of R2, above 0.571).
        self.assertEqual(
            (backtest.at_risk_factor, backtest.min_at_risk_days, backtest.dormant_days),
            (1.5, 30, 180),
        )
        # (stored with 3 decimals)
        self.assertAlmostEqual(backtest.calibration_youden_j, 1 - 3 / 9, places=3)
        lines = {line.group_key: line for line in backtest.group_ids}
        self.assertEqual(set(lines), {self.poland.id, self.germany.id})
        germany, poland = lines[self.germany.id], lines[self.poland.id]
        self.assertTrue(germany.own)
        self.assertEqual(
            (germany.at_risk_factor, germany.min_at_risk_days, germany.dormant_days),
            (1.0, 100, 365),
        )
        self.assertEqual(germany.customers, 6)
        self.assertAlmostEqual(germany.youden_j, 1.0, places=6)
        self.assertAlmostEqual(germany.company_youden_j, 0.25, places=6)
        self.assertAlmostEqual(germany.validated_youden_j, 1.0, places=6)
        self.assertAlmostEqual(germany.validated_company_youden_j, 0.25, places=6)
        self.assertEqual(germany.group_name, self.germany.display_name)
        self.assertIn("has its own thresholds", germany.summary)
        self.assertFalse(poland.own)
        self.assertEqual(poland.customers, 10)
        self.assertIn("keeps the company's thresholds", poland.summary)
        # Kept on the company, with the field they were calibrated on.
        self.assertEqual(
            self.company.retention_calibrated_groups,
            {"field": "country_id", "thresholds": [[self.germany.id, 1.0, 100, 365]]},
        )
        self.assertIn(
            self.germany.display_name, self.company.retention_calibrated_groups_summary
        )
        # Salespeople read the lines of their company; nobody writes them.
        line = germany.with_user(self.salesman)
        self.assertTrue(line.summary)
        with self.assertRaises(AccessError):
            line.write({"own": False})

    def test_the_statuses_use_them_in_calibrated_mode_only(self):
        self._backtest()
        company = self.company
        self.assertEqual(company._retention_settings().group_thresholds, ())
        company.retention_threshold_mode = "calibrated"
        self.assertEqual(
            company._retention_settings().group_thresholds,
            ((self.germany.id, 1.0, 100, 365),),
        )
        # The first run, which also rebuilds the past month ends with them.
        self.recompute()
        statuses = self._statuses()
        # Germany waits 100 days; Poland still 30 (1.5 x 20).
        self.assertEqual(statuses["late_de"], {"active"})
        self.assertEqual(statuses["late_pl"], {"at_risk"})
        self.assertEqual(statuses["left_long_ago"], {"at_risk"})  # 300 days
        self.assertEqual(statuses["gappy"], {"active"})
        self.assertEqual(statuses["regular"], {"active"})
        self.assertTrue(company._retention_run().months_built)
        # Fixed mode: 30 days for everybody.
        company.retention_threshold_mode = "fixed"
        self.recompute()
        self.assertEqual(self._statuses()["late_de"], {"at_risk"})
        # Calibrated, but another peer-group field: the groups' own no longer apply.
        company.write(
            {
                "retention_threshold_mode": "calibrated",
                "retention_group_field": "industry_id",
            }
        )
        self.assertEqual(company._retention_settings().group_thresholds, ())
        self.assertFalse(company.retention_calibrated_groups_summary)
        self.recompute()
        self.assertEqual(self._statuses()["late_de"], {"at_risk"})
