"""The demo: ``python3 -m tests.demo`` serves a database full of customers.

On first run it starts a PostgreSQL cluster kept in ``var/demo`` (or uses
``RETENTION_DB_HOST``, see ``tests/harness/pg.py``), creates the database
``retention_demo`` with Odoo and the addon, loads a generated history
(2,000 customers, about 40,000 orders over three years: loyal, seasonal,
declining, churned, one-time and new customers, five salespeople, four
product categories, customers and phone numbers from six countries), runs
the recompute and serves Odoo on http://localhost:8069. Later runs reuse the
database. ``--reset`` rebuilds it; ``--no-serve`` stops after loading (for
scripts and screenshots); ``--stop`` stops the demo cluster.
"""

import argparse
import os
import random
import sys
from datetime import date, datetime, timedelta

from .demo_backtest import print_backtest
from .harness import datagen, pg
from .harness.odoo_env import REPO_ROOT, OdooDatabase, odoo_command, subprocess_env
from .harness.session import odoo_environment

DEMO_DIR = REPO_ROOT / "var" / "demo"
DATABASE = "retention_demo"
LOGIN = ("admin", "admin")
SALESPERSON = ("rep", "rep")


def say(message):
    print(f"demo: {message}", flush=True)


def build(database, customers, orders_per_customer, seed):
    say(f"installing Odoo and customer_retention into {database.name} (about a minute)")
    database.install(log_file=DEMO_DIR / "install.log")
    with odoo_environment(database) as env:
        say(
            f"loading {customers:,} customers with "
            f"~{customers * orders_per_customer:,.0f} orders"
        )
        history = datagen.generate(
            customers,
            orders_per_customer,
            seed=seed,
            today=date.today(),
            steady=True,
        )
        partners = env["res.partner"].browse(datagen.load(env, history).tolist())
        # Rows loaded by COPY skip stored computes: the SMS features need
        # the normalised numbers Odoo would have computed.
        env.add_to_compute(partners._fields["phone_sanitized"], partners)
        # Onboarding tours would cover the screens on a database without demo data.
        env["res.users"].search([]).write({"tour_enabled": False})
        env.flush_all()
        env.cr.commit()
        say("a win-back SMS campaign sent 45 days ago, measured since")
        past_campaign(env, days_ago=45)
        env.cr.commit()
        say("eight weeks of status changes, as if the addon had run every week")
        weekly_history(env, weeks=8)
        env.cr.commit()
        say("UTM sources on the orders")
        utm_sources(env)
        env.cr.commit()
        say(
            "calibrated mode: the monthly back-test chooses the verdict on the "
            "shop's own past"
        )
        env.company.retention_threshold_mode = "calibrated"
        env.company.retention_backtest()
        env.cr.commit()
        say("computing retention")
        count = env["res.partner"].retention_recompute()
        say("win-back calls planned for the customers at risk, some already made")
        win_back_calls(env)
        env["res.users"].create(
            {
                "name": "Sales Rep",
                "login": SALESPERSON[0],
                "password": SALESPERSON[1],
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            env.ref("sales_team.group_sale_salesman").id,
                            env.ref("base.group_user").id,
                        ],
                    )
                ],
                "tour_enabled": False,
            }
        )
        env.cr.commit()
        say(f"{count:,} customers computed")


# Where the demo's customers heard of the shop: a customer's orders carry
# one source, picked by a hash of the customer, none for one in five.
DEMO_SOURCES = ("Google", "Instagram", "Friend's referral", "Flyer")


def utm_sources(env):
    ids = [env["utm.source"].create({"name": name}).id for name in DEMO_SOURCES]
    env.flush_all()
    env.cr.execute(
        """
        UPDATE sale_order
           SET source_id = (%s::int[])[1 + abs(hashtext(partner_id::text)) %% 5]
        """,
        [ids],
    )


# Outcomes of the demo's made calls, in proportions a salon might see.
DEMO_OUTCOMES = (
    ("won_back", 4),
    ("no_answer", 3),
    ("pause", 2),
    ("price", 2),
    ("moved_away", 1),
    ("competitor", 1),
    ("quality", 1),
    ("other", 1),
)


def win_back_calls(env, customers=200, made=0.7, seed=7):
    """Call plans for the biggest customers at risk, as the planning makes
    them, and an outcome recorded for ``made`` of them."""
    at_risk = env["res.partner"].search(
        [("retention_status", "=", "at_risk")],
        order="retention_revenue desc",
        limit=customers,
    )
    env.company._retention_plan_calls(limit_per_user=0, partners=at_risk)
    calls = env["retention.call"].search([("state", "=", "planned")], order="id")
    rng = random.Random(seed)
    outcomes = [key for key, weight in DEMO_OUTCOMES for _i in range(weight)]
    for call in calls:
        if rng.random() < made:
            wizard = env["retention.call.outcome.wizard"].create(
                {"call_id": call.id, "outcome": rng.choice(outcomes)}
            )
            wizard.action_confirm()


def weekly_history(env, weeks):
    """The status history of a database where the addon has run every week
    for ``weeks`` weeks: a run as of that many weeks ago, then one a week,
    each recording the customers whose status changed since the last. (The
    daily job records them every night; the months before are
    reconstructed by the run that follows.)"""
    Partner = env["res.partner"]
    today = date.today()
    Partner.retention_recompute(as_of=today - timedelta(weeks=weeks))
    # The history starts with the first whole run of a company: this one.
    env.company._retention_run().last_run = datetime.now() - timedelta(weeks=weeks)
    for week in range(weeks - 1, 0, -1):
        Partner.retention_recompute(as_of=today - timedelta(weeks=week))


def past_campaign(env, days_ago, size=300):
    """What the campaign list looks like once a campaign has been measured:
    the customers at risk on that day, texted through the real wizard, then
    dated back and measured against the orders generated since."""
    Partner = env["res.partner"]
    company = env.company
    sent_at = datetime.now().replace(microsecond=0) - timedelta(days=days_ago)
    Partner.retention_recompute(as_of=date.today() - timedelta(days=days_ago))
    at_risk = Partner.search(
        [("retention_status", "=", "at_risk"), ("mobile", "!=", False)], limit=size
    )
    quiet = company.retention_sms_quiet_start, company.retention_sms_quiet_end
    company.write({"retention_sms_quiet_start": 0, "retention_sms_quiet_end": 0})
    wizard = (
        env["retention.sms.wizard"]
        .with_context(retention_sms_partner_ids=at_risk.ids)
        .create({})
    )
    campaign = wizard._queue()
    company.write(
        {"retention_sms_quiet_start": quiet[0], "retention_sms_quiet_end": quiet[1]}
    )
    # The demo never talks to a real SMS gateway.
    env["sms.sms"].search([("partner_id", "in", at_risk.ids)]).unlink()
    campaign.write(
        {
            "name": f"We miss you ({days_ago} days ago)",
            "date": sent_at,
            "queued_date": sent_at,
        }
    )
    campaign._measure()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--port", type=int, default=8069)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--orders-per-customer", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--reset", action="store_true", help="drop and rebuild the demo database"
    )
    parser.add_argument(
        "--no-serve", action="store_true", help="build the database, do not serve it"
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop the demo PostgreSQL cluster"
    )
    parser.add_argument(
        "--backtest",
        action="store_true",
        help="back-test the at-risk flags on the demo's history, print and store "
        "it, do not serve",
    )
    options = parser.parse_args(argv)
    if options.stop:
        pg.stop_cluster(DEMO_DIR / "pg" / "data")
        return 0

    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    external = bool(os.environ.get("RETENTION_DB_HOST"))
    cluster = (
        pg.external_server()
        if external
        else pg.persistent_cluster(DEMO_DIR / "pg", durable=True)
    )
    with cluster as server:
        database = OdooDatabase(server, DATABASE, DEMO_DIR / "data")
        if options.reset and server.database_exists(DATABASE):
            say(f"dropping {DATABASE}")
            database.drop()
        if not _is_ready(server):
            if server.database_exists(DATABASE):
                database.drop()  # a build that died half-way
            build(
                database, options.customers, options.orders_per_customer, options.seed
            )
        else:
            say(
                f"reusing the database {DATABASE} (--reset rebuilds it); "
                "updating customer_retention"
            )
            database.update(log_file=DEMO_DIR / "update.log")
        if options.backtest:
            print_backtest(database)
            return 0
        if options.no_serve:
            return 0
        argv = (
            odoo_command()
            + database.server_args(http_port=options.port)
            + [
                f"--db-filter=^{DATABASE}$",
                "--max-cron-threads=1",
                "--log-level=warn",
            ]
        )
        say(
            f"Odoo serves http://localhost:{options.port}/odoo/action-customer_retention.action_customer_retention"
        )
        say(
            f"log in as {LOGIN[0]} / {LOGIN[1]} (administrator) or "
            f"{SALESPERSON[0]} / {SALESPERSON[1]} "
            "(salesperson); Ctrl-C stops the server"
        )
        sys.stdout.flush()
        os.chdir(REPO_ROOT)
        os.execvpe(argv[0], argv, subprocess_env())


def _is_ready(server):
    """The demo database exists and its recompute finished."""
    if not server.database_exists(DATABASE):
        return False
    rows = server.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'retention_run' "
        "AND column_name = 'last_run'",
        dbname=DATABASE,
    )
    if not rows:
        return False
    return bool(
        server.execute(
            "SELECT 1 FROM retention_run WHERE last_run IS NOT NULL",
            dbname=DATABASE,
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
