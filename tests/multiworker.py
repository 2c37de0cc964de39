"""The real daily job in Odoo's multi-worker mode:
``python3 -m tests.multiworker [--size M]``.

On a copy of the benchmark's loaded history (``--size``, default M; built
and kept under ``var/bench`` like ``tests.benchmark --keep-data``), with the
addon installed, it starts ``odoo-bin --workers=2`` with Odoo's default
limits (60 s CPU and 120 s wall per unit of work, 2 GB soft and 2.5 GB hard
memory), makes the daily retention job due, and waits until the company's
run has ended. It reports how long that took, how many calls the job made
and every worker the server killed or recycled (there should be none;
the gevent worker's start-up error is about websockets, not crons), and
writes ``benchmark/results/multiworker_<size>.json``.

``--queue-job N``: the same night with OCA's queue_job installed too, whose
job runner (``--load=base,web,queue_job``) gives the night's jobs to N
workers at once (``ODOO_QUEUE_JOB_CHANNELS=root:N``; the server runs N + 1
HTTP workers, which perform the jobs, and its cron worker). It writes
``multiworker_<size>_jobs<N>.json`` with the jobs' count and longest job.
Every run also records a checksum of the values the night stored (every
column of ``retention_partner_state`` but the moment it was written): the
cron's night and the jobs' give the same.
"""

import argparse
import json
import re
import subprocess
import time
from datetime import datetime

import psycopg2

from . import benchmark
from .harness import pg
from .harness.odoo_env import ADDON, REPO_ROOT, odoo_command, subprocess_env

# What Odoo logs when a worker passes a limit (odoo/service/server.py).
KILLED = re.compile(
    r"timeout after|virtual (memory|real) limit|CPU time limit|MemoryError"
    r"|Worker \(\d+\) (max age|exceeded)|killing",
    re.IGNORECASE,
)
CALL = re.compile(
    r"Job 'Customer Retention: daily recompute' \(\d+\) done in ([0-9.]+)s"
)
RUN = re.compile(r"Customer retention of .* step\(s\).*")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.multiworker", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--size", default="M", choices=sorted(benchmark.SIZES))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds")
    parser.add_argument(
        "--queue-job",
        type=int,
        default=0,
        metavar="N",
        help="the night as queue_job jobs on N job workers (0: in the cron)",
    )
    options = parser.parse_args(argv)
    jobs = options.queue_job
    suffix = f"_jobs{jobs}" if jobs else ""
    data_dir = benchmark.BENCH_CLUSTER / "odoo-data"
    log_file = REPO_ROOT / "var" / "log" / f"multiworker-{options.size}{suffix}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.unlink(missing_ok=True)  # Odoo appends to its log file
    with pg.persistent_cluster(benchmark.BENCH_CLUSTER) as server:
        template, _figures = benchmark.loaded_database(
            server, options.size, data_dir, keep=True
        )
        database = template.clone(
            f"retention_multiworker_{options.size.lower()}{suffix}"
        )
        try:
            database.install(modules=(ADDON, "queue_job") if jobs else (ADDON,))
            connection = psycopg2.connect(**server.dsn_args(database.name))
            connection.autocommit = True
            with connection.cursor() as cr:
                cr.execute("ANALYZE")
                cr.execute(
                    "SELECT res_id FROM ir_model_data WHERE module = "
                    "'customer_retention' AND name = 'ir_cron_retention_recompute'"
                )
                cron_id = cr.fetchone()[0]
                cr.execute(
                    "UPDATE ir_cron SET nextcall = now() AT TIME ZONE 'UTC' "
                    "WHERE id = %s",
                    [cron_id],
                )
            argv = odoo_command() + [
                *database.server_args(),
                f"--workers={jobs + 1 if jobs else 2}",
                "--max-cron-threads=1",
                "--log-level=info",
                f"--logfile={log_file}",
            ]
            extra_env = {}
            if jobs:
                argv.append("--load=base,web,queue_job")
                extra_env["ODOO_QUEUE_JOB_CHANNELS"] = f"root:{jobs}"
            started = time.monotonic()
            odoo = subprocess.Popen(
                argv, env=subprocess_env(**extra_env), cwd=REPO_ROOT
            )
            try:
                finished, night_s = wait_for_run(connection, options.timeout)
            finally:
                odoo.terminate()
                odoo.wait(timeout=60)
            elapsed = time.monotonic() - started
            night = night_figures(connection, jobs)
            connection.close()
        finally:
            database.drop()
    log = log_file.read_text(errors="replace")
    killed = [line for line in log.splitlines() if KILLED.search(line)]
    calls = [float(seconds) for seconds in CALL.findall(log)]
    result = {
        "size": options.size,
        "customers": benchmark.SIZES[options.size],
        "job_workers": jobs,
        "finished": finished,
        "server_start_to_run_end_s": elapsed,
        # from the run's start to its end seen (polled every second)
        "night_s": night_s,
        **night,
        "cron_calls": len(calls),
        "cron_calls_s": calls,
        "longest_call_s": max(calls, default=0.0),
        # the cron worker polls a minute after it starts: most of the wait
        "run_s": sum(calls),
        "workers_killed_or_recycled": killed,
        "run_log": RUN.findall(log),
        "command": " ".join(argv[1:]),
        "machine": benchmark.machine(),
        "measured_at": datetime.now().isoformat(timespec="seconds"),
    }
    output = benchmark.RESULTS / f"multiworker_{options.size}{suffix}.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if finished and not killed else 1


def night_figures(connection, jobs):
    """A checksum of the values the night stored and, with queue_job, its
    jobs."""
    with connection.cursor() as cr:
        cr.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'retention_partner_state'"
            " AND column_name NOT IN ('id', 'changed_at') ORDER BY column_name"
        )
        columns = ", ".join(f'"{name}"' for (name,) in cr.fetchall())
        cr.execute(
            f"SELECT md5(string_agg(row_text, '|' ORDER BY key)), count(*) FROM"  # noqa: S608 (names from the catalog)
            f" (SELECT company_id || '-' || partner_id AS key,"
            f" ROW({columns})::text AS row_text FROM retention_partner_state) rows"
        )
        checksum, rows = cr.fetchone()
        figures = {
            "values_checksum": checksum,
            "values_rows": rows,
        }
        if jobs:
            cr.execute(
                "SELECT count(*), max(exec_time), sum(exec_time),"
                " count(*) FILTER (WHERE state != 'done')"
                " FROM queue_job WHERE model_name = 'retention.run'"
            )
            count, longest, total, not_done = cr.fetchone()
            figures.update(
                jobs=count,
                longest_job_s=float(longest or 0.0),
                jobs_s=float(total or 0.0),
                jobs_not_done=not_done,
            )
    return figures


def wait_for_run(connection, timeout):
    """Wait until the company's run has begun and ended (the daily job
    stamps the run's last_attempt when it is done with the company);
    (whether it ended, seconds from its start to its end seen)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cr:
        while time.monotonic() < deadline:
            cr.execute(
                "SELECT last_attempt IS NOT NULL AND as_of IS NULL, last_error,"
                " extract(epoch FROM (now() AT TIME ZONE 'UTC') - last_run)"
                " FROM retention_run ORDER BY company_id LIMIT 1"
            )
            done, error, night_s = cr.fetchone() or (False, None, None)
            if error:
                raise RuntimeError(f"the daily job failed: {error}")
            if done:
                return True, float(night_s)
            time.sleep(1)
    return False, None


if __name__ == "__main__":
    raise SystemExit(main())
