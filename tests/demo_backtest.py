"""``python3 -m tests.demo --backtest``: the back-test of the at-risk flags
on the demo's history (issue #13), printed as benchmark/README.md shows it
and stored in the demo database (Sales > Reporting > Retention Analysis >
Back-tests)."""

import re
from datetime import date

from .harness.session import odoo_environment

RULE_ORDER = ("current", "calibrated", "days_60", "days_90", "days_180")


def _cell(value, defined=True, digits=3):
    return f"{value:.{digits}f}" if defined else "n/a"


def print_backtest(database, horizon_days=None, as_of=None):
    """Back-test the demo company as of ``as_of`` (the day of its last
    order, or today) and print each rule's figures; returns the rows."""
    with odoo_environment(database) as env:
        company = env.company
        if as_of is None:
            # The demo's history ends the day it was built: a later as of
            # would count the days since as days nobody came back.
            env.cr.execute(
                "SELECT max(date_order)::date FROM sale_order WHERE state = 'sale'"
                " AND company_id = %s",
                [company.id],
            )
            as_of = min(env.cr.fetchone()[0] or date.today(), date.today())
        action = company.retention_backtest(as_of=as_of, horizon_days=horizon_days)
        backtest = env["retention.backtest"].browse(action["res_id"])
        env.cr.commit()
        print(
            f"Back-test of {company.name} as of {backtest.as_of}, flags as of "
            f"{backtest.cutoff}, horizon {backtest.horizon_days} days: "
            f"{backtest.scope}"
        )
        header = (
            f"| {'rule':<15} | {'J':>6} | {'AUC':>6} | {'precision':>9} | "
            f"{'recall':>6} | {'F1':>6} | {'tp':>5} | {'fp':>5} | {'fn':>5} | "
            f"{'tn':>5} |"
        )
        print(header)
        print(re.sub(r"[^|]", "-", header))
        rows = []
        for rule in backtest.rule_ids:
            rows.append(rule)
            print(
                f"| {rule.rule:<15} | {_cell(rule.youden_j):>6} | "
                f"{_cell(rule.auc, rule.has_auc):>6} | "
                f"{_cell(rule.precision, rule.has_precision):>9} | "
                f"{_cell(rule.recall, rule.has_recall):>6} | "
                f"{_cell(rule.f1, rule.has_precision):>6} | {rule.tp:>5} | "
                f"{rule.fp:>5} | {rule.fn:>5} | {rule.tn:>5} |"
            )
        print(
            "Calibrated as of {as_of}: factor {factor}, minimum {minimum} days, "
            "dormant {dormant} days; J {j:.3f} against {current:.3f} for the "
            "settings in use{kept}".format(
                as_of=backtest.as_of,
                factor=backtest.at_risk_factor,
                minimum=backtest.min_at_risk_days,
                dormant=backtest.dormant_days,
                j=backtest.calibration_youden_j,
                current=backtest.calibration_current_youden_j,
                kept=f" (kept: {backtest.not_calibrated})"
                if backtest.not_calibrated
                else "",
            )
        )
        for rule in backtest.rule_ids:
            print(f"- {rule.summary}")
        if backtest.group_ids:
            print("Peer groups calibrated on their own:")
        else:
            print(
                "No peer group has enough customers to be calibrated on its own "
                "(500 on each of the last two horizons)."
            )
        for group in backtest.group_ids:
            print(f"- {group.summary} ({group.customers:,} customers judged)")
        return rows
