"""The win-back SMS dialog at the web client's selection limit:
``python3 -m tests.benchmark_sms [--customers 20000]``.

On a throwaway database filled by the demo generator (85 % of customers
with a mobile number in one of six countries, some invalid, 2 % of the
numbers blacklisted), a salesperson selects every customer and opens the
win-back SMS dialog, then changes the control group, as the web client does
(``onchange`` on a new record, with the dialog's field specification). It
prints the server time of each step and writes
``benchmark/results/sms_wizard.json``.
"""

import argparse
import json
import os
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from .benchmark import RESULTS, machine
from .harness import datagen, pg
from .harness.odoo_env import OdooDatabase
from .harness.session import odoo_environment

TODAY = date(2026, 11, 24)


def timed(function, repeat=3):
    """Best of ``repeat`` wall times, and the last result."""
    best, result = None, None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def measure(env, customers):
    history = datagen.generate(customers, 2.0, seed=7, today=TODAY)
    partner_ids = datagen.load(env, history).tolist()
    partners = env["res.partner"].browse(partner_ids)
    # Rows loaded by COPY skip stored computes: the numbers Odoo would have normalised.
    env.add_to_compute(partners._fields["phone_sanitized"], partners)
    env.flush_all()
    numbers = [number for number in partners.mapped("phone_sanitized") if number][
        : customers // 50
    ]
    env["phone.blacklist"].create([{"number": number} for number in numbers])
    rep = env["res.users"].create(
        {
            "name": "Bench Rep",
            "login": "bench_rep",
            "groups_id": [(6, 0, [env.ref("sales_team.group_sale_salesman").id])],
        }
    )
    env.company.write({"retention_sms_quiet_start": 0, "retention_sms_quiet_end": 0})
    env.cr.commit()

    Wizard = env["retention.sms.wizard"].with_user(rep)
    action = Wizard.action_open(partner_ids)
    Wizard = Wizard.with_context(action["context"])
    arch = etree.fromstring(
        Wizard.get_views([(False, "form")])["views"]["form"]["arch"]
    )
    spec = {}
    for name in {node.get("name") for node in arch.xpath("//field")}:
        relational = Wizard._fields[name].type in ("many2many", "one2many")
        spec[name] = {"fields": {"display_name": {}}} if relational else {}

    open_s, opened = timed(lambda: Wizard.onchange({}, [], spec))
    if os.environ.get("RETENTION_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(Wizard.onchange, {}, [], spec)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    values = dict(opened["value"])
    values["partner_ids"] = [(6, 0, partner_ids)]
    change_s, changed = timed(
        lambda: Wizard.onchange(
            dict(values, holdout_percent=20), ["holdout_percent"], spec
        )
    )
    wizard = Wizard.create({})
    classify_s, buckets = timed(lambda: wizard._classify(wizard.partner_ids))
    if os.environ.get("RETENTION_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(wizard._classify, wizard.partner_ids)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    counts = {key: len(value) for key, value in buckets.items() if key != "numbers"}
    env.cr.rollback()
    return {
        "selected": len(partner_ids),
        "dialog_open_s": open_s,
        "change_control_group_s": change_s,
        "classify_s": classify_s,
        "buckets": counts,
        "to_text_after_change": changed["value"].get("send_count"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.benchmark_sms", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    with (
        pg.server_from_env() as server,
        tempfile.TemporaryDirectory(prefix="retention-bench-") as data_dir,
    ):
        database = OdooDatabase(
            server, f"retention_bench_sms_{os.getpid()}", Path(data_dir)
        )
        try:
            database.install()
            with odoo_environment(database) as env:
                result = measure(env, options.customers)
        finally:
            database.drop()
    result["machine"] = machine()
    result["measured_at"] = datetime.now().isoformat(timespec="seconds")
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / "sms_wizard.json").write_text(
        json.dumps(result, indent=2, default=str) + "\n"
    )
    for key in ("selected", "dialog_open_s", "change_control_group_s", "classify_s"):
        value = result[key]
        print(
            f"{key:26}{value:>12.3f}"
            if isinstance(value, float)
            else f"{key:26}{value:>12,}"
        )
    print(f"{'buckets':26}{result['buckets']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
