"""The benchmark: ``python3 -m tests.benchmark [--sizes S,M,L]``.

For each size, on a database filled by the demo generator
(``tests/harness/datagen.py``, COPY-loaded) and then given the addon, it
measures side by side:

1. the floor: one plain SQL aggregate over the same order rows;
2. the first night as the daily job runs it: calls of at most CRON_BUDGET
   seconds (ranks of everybody, then chunks of customers, each committed)
   until the run ends: the number of calls, the longest, their total, its
   stages, the peak RSS of this process and the rows written. A second
   connection edits customers and orders meanwhile and records its worst
   wait;
3. the second night, one day later with no new order: the same figures,
   and how few rows it writes;
4. an incremental recompute (``_retention_recompute_changed``: only the
   customers whose orders changed) after 1,000 new orders for 1,000 customers;
5. the server time of the partner list filtered by At risk (first page,
   counted up to 10,000 as the web client does; the exact count apart) and
   of the pivot grouped by status; the time of each Retention Analysis
   report opened as its menu opens it, and the size of its tables;
6. a busy night: the night after 1 % of the customers ordered, with the
   same figures as the others;
7. on S only, a naive reference: the same figures computed with one ORM
   search per partner, as a typical module does.

It prints a table and writes ``benchmark/results/<size>.json`` with the
machine's description. PostgreSQL: ``RETENTION_DB_HOST`` (see
``tests/harness/pg.py``) or a throwaway cluster; with ``--keep-data`` a
cluster under ``var/bench`` that keeps each size's loaded history (L takes
half an hour to load) for the next run.
"""

import argparse
import contextlib
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from unittest import mock

import numpy as np
import psutil
import psycopg2

from .harness import datagen, pg
from .harness.odoo_env import REPO_ROOT, OdooDatabase
from .harness.session import odoo_environment

SIZES = {"S": 20_000, "M": 100_000, "L": 1_000_000}
ORDERS_PER_CUSTOMER = 10
RESULTS = REPO_ROOT / "benchmark" / "results"
BENCH_CLUSTER = REPO_ROOT / "var" / "bench"
TODAY = date(2026, 11, 24)  # fixed so that every run sees the same history


class PeakMemory:
    """Samples this process's RSS in a thread; ``peak`` in bytes."""

    def __init__(self, interval=0.02):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._process = psutil.Process()

    def __enter__(self):
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


class ConcurrentEdits:
    """Another user meanwhile: a thread with its own connection that edits a
    random customer, then a random confirmed order, each in its own short
    transaction, and records how long each edit waited."""

    def __init__(self, dsn_args, partner_ids, order_ids, pause=0.02):
        self.dsn_args, self.pause = dsn_args, pause
        self.partner_ids, self.order_ids = partner_ids, order_ids
        self.latencies = []
        self.deadlocks = 0
        self._stop = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._edit, daemon=True)
        self._thread.start()
        return self

    def _edit(self):
        rng = np.random.default_rng(3)
        connection = psycopg2.connect(**self.dsn_args)
        try:
            with connection.cursor() as cr:
                while not self._stop.wait(self.pause):
                    started = time.perf_counter()
                    try:
                        # as a user's request: one transaction, a customer
                        # and an order; no-op values, real row locks
                        cr.execute(
                            "UPDATE res_partner SET ref = ref WHERE id = %s",
                            [int(rng.choice(self.partner_ids))],
                        )
                        cr.execute(
                            "UPDATE sale_order SET client_order_ref = client_order_ref "
                            "WHERE id = %s",
                            [int(rng.choice(self.order_ids))],
                        )
                        connection.commit()
                    except psycopg2.errors.DeadlockDetected:
                        connection.rollback()  # Odoo retries such a request; count it
                        self.deadlocks += 1
                    self.latencies.append(time.perf_counter() - started)
        finally:
            connection.close()

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self):
        values = np.asarray(self.latencies or [0.0])
        return {
            "concurrent_edits": len(self.latencies),
            "concurrent_edit_deadlocks": self.deadlocks,
            "concurrent_edit_max_s": float(values.max()),
            "concurrent_edit_p99_s": float(np.percentile(values, 99)),
        }


def timed(function, repeat=1):
    """Best wall time of ``repeat`` calls (the first may warm caches) and the
    last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def floor(env, company):
    env.cr.execute(
        """
        SELECT so.company_id, customer.commercial_partner_id, count(*),
               min(so.date_order), max(so.date_order), sum(so.amount_untaxed)
          FROM sale_order so
          JOIN res_partner customer ON customer.id = so.partner_id
         WHERE so.state = 'sale' AND so.company_id = %s
      GROUP BY 1, 2
        """,
        [company.id],
    )
    return len(env.cr.fetchall())


def naive(env, partners, as_of):
    """What a typical module does: search each customer's orders through the
    ORM and compute the figures in Python."""
    Order = env["sale.order"]
    results = {}
    for partner in partners:
        orders = Order.search(
            [
                ("partner_id", "child_of", partner.id),
                ("state", "=", "sale"),
                ("date_order", "<=", as_of),
            ],
            order="date_order",
        )
        days = sorted({o.date_order.date() for o in orders})
        gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
        results[partner.id] = (
            len(days),
            sum(orders.mapped("amount_untaxed")),
            statistics.median(gaps) if gaps else None,
            (as_of - days[-1]).days if days else None,
        )
    return len(results)


@contextlib.contextmanager
def company_day(day):
    """The companies' today is ``day``: the generated history ends on a fixed
    day, and the run of a company's today is the one that also brings
    Retention Analysis up to date. (Only the companies' calendar: time
    itself, which the runs' budgets measure, goes on.)"""
    from odoo.addons.customer_retention.models.res_company import ResCompany

    with mock.patch.object(ResCompany, "_retention_today", lambda self, now=None: day):
        yield


def nightly_run(company, as_of, prefix):
    """A whole-company run as the daily job makes it: calls of at most
    CRON_BUDGET seconds, each committed, until the run ends. Figures: the
    number of calls, the longest and their total wall time, the peak RSS of
    this process meanwhile, the stages and the rows written."""
    from odoo.addons.customer_retention.models import retention_jobs, retention_run

    stats = dict(retention_run.NOTHING_DONE)
    calls = []
    with PeakMemory() as memory, company_day(as_of):
        finished = False
        while not finished:
            started = time.perf_counter()
            finished = company._retention_run_step(
                retention_jobs.CRON_BUDGET, stats=stats, as_of=as_of
            )
            company.env.cr.commit()
            calls.append(time.perf_counter() - started)
    return {
        f"{prefix}_s": sum(calls),
        f"{prefix}_calls": len(calls),
        f"{prefix}_longest_call_s": max(calls),
        f"{prefix}_peak_rss_mb": memory.peak / 2**20,
        **{f"{prefix}_{key}": value for key, value in stats.items()},
    }


def backtest_run(company, as_of):
    """The monthly back-test and calibration of ``company`` as of ``as_of``,
    as its scheduled action makes it: its wall time, the peak RSS of this
    process meanwhile and the customers it judged."""
    with PeakMemory() as memory, company_day(as_of):
        started = time.perf_counter()
        record = company.env["retention.backtest"]._run(
            company, as_of, company.retention_predict_horizon_days
        )
        company.env.cr.commit()
        elapsed = time.perf_counter() - started
    return {
        "backtest_s": elapsed,
        "backtest_peak_rss_mb": memory.peak / 2**20,
        "backtest_judged": record.customers,
        "backtest_sample": record.sample_size,
    }


def views(env):
    Partner = env["res.partner"]
    specification = {
        name: {}
        for name in (
            "display_name",
            "retention_status",
            "retention_alert",
            "retention_days_since_last",
            "retention_cadence_days",
            "retention_next_order_date",
            "retention_avg_ticket",
            "retention_revenue",
            "retention_trend_pct",
            "retention_group_tier",
            "user_id",
        )
    }
    # As the web client asks: the first 80, counted up to 10,000 (it shows
    # "1-80 / 10000+" beyond); the exact count is one click away.
    list_time, page = timed(
        lambda: Partner.web_search_read(
            [("retention_status", "=", "at_risk")],
            specification,
            limit=80,
            order="retention_days_since_last desc",
            count_limit=10001,
        ),
        repeat=3,
    )
    count_time, total = timed(
        lambda: Partner.search_count([("retention_status", "=", "at_risk")]),
        repeat=3,
    )
    pivot_time, groups = timed(
        lambda: Partner.read_group(
            [("retention_status", "!=", False)],
            ["retention_revenue:sum", "retention_avg_ticket:avg"],
            ["retention_status"],
            lazy=False,
        ),
        repeat=3,
    )
    return {
        "list_at_risk_s": list_time,
        "list_rows": len(page["records"]),
        "list_length": page["length"],
        "count_at_risk_s": count_time,
        "count_at_risk": total,
        "pivot_by_status_s": pivot_time,
        "pivot_groups": len(groups),
    }


def analysis(env, today):
    """Server time of each Retention Analysis report opened as its menu
    opens it (default filters, default grouping), best of three, as a
    salesperson (record rules and all), and the size of the tables behind."""
    salesman = env.ref("sales_team.group_sale_salesman")
    rep = env["res.users"].search(
        [("groups_id", "in", salesman.ids), ("share", "=", False), ("id", ">", 2)],
        limit=1,
    )
    env = env(user=rep)
    month = date(today.year, today.month, 1)
    # The default period of "Who Came Back": two months back (its
    # following month has ended).
    period = (month - timedelta(days=40)).replace(day=1)
    period = (period - timedelta(days=1)).replace(day=1)
    year_ago = today - timedelta(weeks=52)
    months_ago = date(today.year - 1, today.month, 1)
    cell = [("period_type", "=", "month"), ("period_start", "=", period)]
    # the default pivot's measures
    measures = [
        "customer_count:sum",
        "returned_count:sum",
        "lost_count:sum",
        "return_rate:avg",
    ]
    reads = {
        "returns_by_user": (
            "retention.report",
            cell,
            measures,
            ["user_id"],
        ),
        "returns_by_category": (
            "retention.report",
            cell,
            measures,
            ["categ_id"],
        ),
        "status_flows": (
            "retention.status.flow",
            [],
            ["customers:sum"],
            ["month:month", "old_status", "new_status"],
        ),
        "pulse_weeks": (
            "retention.pulse.week",
            [("week", ">=", year_ago)],
            ["visits:sum", "customers:sum"],
            ["week:week", "series"],
        ),
        "status_months": (
            "retention.status.month",
            [],
            ["customers:sum"],
            ["month_end:month", "status"],
        ),
        "hours": (
            "retention.visit.hour",
            [("month", ">=", months_ago)],
            ["visits:sum"],
            ["weekday", "hour"],
        ),
        "cohorts": (
            "retention.cohort",
            [("cohort_month", ">=", months_ago)],
            ["share:avg", "cohort_size:max"],
            ["cohort_month:month", "months_after"],
        ),
    }
    result = {}
    for name, (model, domain, aggregates, groupby) in reads.items():
        result[f"analysis_{name}_s"], groups = timed(
            lambda model=model, domain=domain, aggregates=aggregates, groupby=groupby: (
                env[model]._read_group(domain, groupby, aggregates)
            ),
            repeat=3,
        )
        result[f"analysis_{name}_groups"] = len(groups)
    # The customers who did not come back of Karolina's cell: the list
    # opened from the pivot, first page.
    user = env["retention.report"]._read_group(cell, ["user_id"], ["__count"])[0][0]
    result["analysis_not_back_list_s"], page = timed(
        lambda: env["retention.report"].web_search_read(
            [*cell, ("user_id", "=", user.id), ("outcome", "=", "not_returned")],
            {"partner_id": {}, "revenue": {}, "outcome": {}},
            limit=80,
            count_limit=10001,
        ),
        repeat=3,
    )
    result["analysis_not_back_list_length"] = page["length"]
    # The status changes of this month, newest first (their list's default).
    result["analysis_status_changes_list_s"], page = timed(
        lambda: env["retention.status.change"].web_search_read(
            [("date", ">=", month)],
            {"partner_id": {}, "old_status": {}, "new_status": {}, "date": {}},
            limit=80,
            count_limit=10001,
        ),
        repeat=3,
    )
    env = env(su=True)
    for table in ("retention_report", "retention_status_change"):
        env.cr.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (constant names)
        result[f"{table}_rows"] = env.cr.fetchone()[0]
    env.cr.execute("SELECT pg_total_relation_size('retention_report')")
    result["retention_report_mb"] = env.cr.fetchone()[0] / 2**20
    return result


# The addon's dependencies: the data is loaded on them, the addon installed after.
DEPENDENCIES = ("sale_management", "sms")
# Bump when the generator or the loader changes: cached data is then rebuilt.
DATA_VERSION = 1


def loaded_database(server, size, data_dir, keep):
    """A database with the addon's dependencies and the generated history of
    ``size``, not the addon: a template to copy. With ``keep`` it is kept
    between runs (loading L takes half an hour); otherwise it is built."""
    name = f"retention_bench_{size.lower()}_data_v{DATA_VERSION}"
    template = OdooDatabase(server, name, data_dir)
    if keep and server.database_exists(name):
        return template, {}
    loading = OdooDatabase(server, f"{name}_loading", data_dir)
    if server.database_exists(loading.name):
        loading.drop()  # a load that died half-way
    figures = {}
    loading.install(modules=DEPENDENCIES)
    with odoo_environment(loading) as env:
        started = time.perf_counter()
        history = datagen.generate(
            SIZES[size], ORDERS_PER_CUSTOMER, seed=7, today=TODAY
        )
        figures["generate_s"] = time.perf_counter() - started
        started = time.perf_counter()
        datagen.load(env, history)
        env.cr.commit()
        figures["load_s"] = time.perf_counter() - started
    if server.database_exists(name):
        template.drop()
    return loading.rename(name), figures


def run_size(server, size, data_dir, naive_limit, keep=False):
    customers = SIZES[size]
    template, figures = loaded_database(server, size, data_dir, keep)
    database = template.clone(f"retention_bench_{size.lower()}_{os.getpid()}")
    result = {"size": size, "customers": customers, **figures}
    try:
        started = time.perf_counter()
        database.install()
        result["install_s"] = time.perf_counter() - started
        with odoo_environment(database) as env:
            company = env.company
            env.cr.execute("ANALYZE")
            env.cr.execute(
                "SELECT id FROM res_partner WHERE customer_rank > 0 ORDER BY id"
            )
            partner_ids = np.fromiter(
                (row[0] for row in env.cr.fetchall()), dtype=np.int64
            )
            env.cr.execute("SELECT count(*) FROM sale_order WHERE state = 'sale'")
            result["orders"] = env.cr.fetchone()[0]

            Partner = env["res.partner"]
            floor(env, company)  # warm the cache like the recompute's second read
            result["floor_s"], result["floor_rows"] = timed(
                lambda: floor(env, company), repeat=2
            )

            env.cr.execute("SELECT id FROM sale_order WHERE state = 'sale'")
            order_ids = np.fromiter(
                (row[0] for row in env.cr.fetchall()), dtype=np.int64
            )
            # The first night, as the daily job runs it, while another user
            # edits customers and orders.
            with ConcurrentEdits(
                server.dsn_args(database.name), partner_ids, order_ids
            ) as edits:
                result.update(nightly_run(company, TODAY, "night"))
            result.update(edits.summary())
            result["night_over_floor"] = result["night_s"] / result["floor_s"]
            del order_ids
            # The second night: one day later, nothing new.
            result.update(nightly_run(company, TODAY + timedelta(days=1), "second"))
            # The monthly back-test, which calibrates the thresholds.
            result.update(backtest_run(company, TODAY + timedelta(days=1)))
            result["fit_and_calibration_s"] = (
                result["second_fit_s"] + result["backtest_s"]
            )

            rng = np.random.default_rng(11)
            changed = rng.choice(
                partner_ids, size=min(1000, len(partner_ids)), replace=False
            )
            datagen.load_orders(
                env, changed, TODAY + timedelta(days=1), rng.uniform(50, 300, 1000)
            )
            env.cr.commit()
            with company_day(TODAY + timedelta(days=1)):
                result["incremental_s"], stats = timed(
                    lambda: company._retention_recompute_changed(
                        as_of=TODAY + timedelta(days=1)
                    )
                )
            env.cr.commit()
            result["incremental_customers"] = stats["customers"]
            for stage in ("extract_s", "engine_s", "predict_s", "write_s"):
                result[f"incremental_{stage}"] = stats[stage]

            with company_day(TODAY + timedelta(days=1)):
                result.update(views(env))
                result.update(analysis(env, TODAY + timedelta(days=1)))

            # A busy night: 1 % of the customers ordered during the day.
            busy = rng.choice(
                partner_ids, size=max(1, len(partner_ids) // 100), replace=False
            )
            datagen.load_orders(
                env, busy, TODAY + timedelta(days=1), rng.uniform(50, 300, len(busy))
            )
            env.cr.commit()
            result["busy_ordered"] = len(busy)
            result.update(nightly_run(company, TODAY + timedelta(days=2), "busy"))
            result["busy_over_floor"] = result["busy_s"] / result["floor_s"]
            result["second_over_floor"] = result["second_s"] / result["floor_s"]

            if naive_limit:
                sample = Partner.browse(partner_ids[:naive_limit].tolist())
                result["naive_customers"] = naive_limit
                naive_time, _count = timed(lambda: naive(env, sample, TODAY))
                result["naive_s"] = naive_time * customers / naive_limit
                result["naive_measured_s"] = naive_time
                result["naive_over_night"] = result["naive_s"] / result["night_s"]
        return result
    finally:
        database.drop()
        if not keep:
            template.drop()


def machine():
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in open("/proc/cpuinfo")
                if line.startswith("model name")
            ),
            platform.processor(),
        ),
    }


def print_table(results):
    rows = [
        ("customers", "{:,}"),
        ("orders", "{:,}"),
        ("floor_s", "{:.2f}"),
        ("night_s", "{:.2f}"),
        ("night_calls", "{:,}"),
        ("night_longest_call_s", "{:.2f}"),
        ("night_rank_s", "{:.2f}"),
        ("night_predict_s", "{:.2f}"),
        ("night_fit_s", "{:.2f}"),
        ("night_extract_s", "{:.2f}"),
        ("night_engine_s", "{:.2f}"),
        ("night_write_s", "{:.2f}"),
        ("night_history_s", "{:.2f}"),
        ("night_over_floor", "{:.1f}x"),
        ("night_peak_rss_mb", "{:,.0f}"),
        ("night_written", "{:,}"),
        ("concurrent_edit_max_s", "{:.3f}"),
        ("second_s", "{:.2f}"),
        ("second_longest_call_s", "{:.2f}"),
        ("second_written", "{:,}"),
        ("second_history_s", "{:.2f}"),
        ("second_predict_s", "{:.2f}"),
        ("second_fit_s", "{:.2f}"),
        ("backtest_s", "{:.2f}"),
        ("backtest_peak_rss_mb", "{:,.0f}"),
        ("backtest_judged", "{:,}"),
        ("fit_and_calibration_s", "{:.2f}"),
        ("incremental_s", "{:.2f}"),
        ("busy_s", "{:.2f}"),
        ("busy_longest_call_s", "{:.2f}"),
        ("busy_over_floor", "{:.1f}x"),
        ("second_over_floor", "{:.1f}x"),
        ("list_at_risk_s", "{:.3f}"),
        ("count_at_risk_s", "{:.3f}"),
        ("pivot_by_status_s", "{:.3f}"),
        ("analysis_returns_by_user_s", "{:.3f}"),
        ("analysis_returns_by_category_s", "{:.3f}"),
        ("analysis_not_back_list_s", "{:.3f}"),
        ("analysis_status_flows_s", "{:.3f}"),
        ("analysis_status_changes_list_s", "{:.3f}"),
        ("analysis_pulse_weeks_s", "{:.3f}"),
        ("analysis_status_months_s", "{:.3f}"),
        ("analysis_hours_s", "{:.3f}"),
        ("analysis_cohorts_s", "{:.3f}"),
        ("retention_report_rows", "{:,}"),
        ("retention_report_mb", "{:,.0f}"),
        ("naive_s", "{:.0f}"),
        ("naive_over_night", "{:.0f}x"),
    ]
    header = f"{'':24}" + "".join(f"{r['size']:>14}" for r in results)
    print(header)
    for key, fmt in rows:
        cells = "".join(
            f"{(fmt.format(r[key]) if key in r else '-'):>14}" for r in results
        )
        print(f"{key:24}{cells}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.benchmark", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--sizes", default="S", help="comma-separated among S, M, L (default S)"
    )
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=None,
        help="customers for the naive reference on S (default: all of them)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the loaded histories in a cluster under var/bench and reuse "
        "them next time (L takes half an hour to load)",
    )
    options = parser.parse_args(argv)
    sizes = [s.strip().upper() for s in options.sizes.split(",") if s.strip()]
    results = []
    if options.keep_data:
        cluster = pg.persistent_cluster(BENCH_CLUSTER)
        data_dirs = contextlib.nullcontext(str(BENCH_CLUSTER / "odoo-data"))
    else:
        cluster = pg.server_from_env()
        data_dirs = tempfile.TemporaryDirectory(prefix="retention-bench-")
    with cluster as server, data_dirs as data_dir:
        for size in sizes:
            naive_limit = (options.naive_sample or SIZES[size]) if size == "S" else 0
            result = run_size(
                server, size, Path(data_dir), naive_limit, keep=options.keep_data
            )
            result["machine"] = machine()
            result["measured_at"] = datetime.now().isoformat(timespec="seconds")
            options.output.mkdir(parents=True, exist_ok=True)
            (options.output / f"{size}.json").write_text(
                json.dumps(result, indent=2, default=str) + "\n"
            )
            results.append(result)
            print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
