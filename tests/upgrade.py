"""The upgrade test: ``python3 -m tests.upgrade [--from COMMIT_OR_VERSION]``.

Shops run ``odoo-bin -u customer_retention`` after every update; this test
does what they do. For each release it starts from (see :func:`baselines`):

1. extract the addon as it was at the release's commit (``git archive``)
   into a temporary directory, and install it from there, not from the
   repository, into a new database;
2. fill it as a shop would have (:func:`fill`, run by that release's code):
   settings changed from their defaults, customers with three years of
   confirmed orders, a few weekly runs (status history), the full nightly
   run, a win-back SMS campaign queued through the addon's wizard, a call
   plan with outcomes, a back-test: whatever that release has;
3. snapshot the addon's tables, its settings and its ``noupdate`` records;
4. ``-u customer_retention`` with the working tree on the addons path
   (migrations included), failing on any ERROR in the log;
5. check that nothing was lost or altered: every row of every ``retention_*``
   table, the queued SMS, the company's settings (its stored, editable
   ``retention_*`` fields) and the addon's ``noupdate`` records (crons, SMS
   template) as they were, on the columns both versions have;
6. run the nightly job again with the new code and check that every
   customer with orders gets a status, that the partner views load and
   that the run did not record a status change for customers whose status
   did not change.

Releases come from ``RELEASES.md`` at the repository root (a table of
version, commit, date, note). By default the test starts from the latest
release whose version is below the manifest's, and from every pre-release
of that version recorded there (a landed main that shops may run, such as
4c66b00). ``--from`` picks releases by version or commit instead (``all``:
every recorded commit). The commits must be in the clone's history (a
shallow clone: ``git fetch --unshallow``).

PostgreSQL as for ``tests.run`` (a throwaway cluster unless
``RETENTION_DB_HOST`` is set). Exits 1 with what went wrong. About a minute
and a half per release on two cores.
"""

import argparse
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from .harness import cli, pg, prereq
from .harness.odoo_env import ADDON, REPO_ROOT, OdooDatabase

RELEASES_FILE = REPO_ROOT / "RELEASES.md"
RELEASE_COLUMNS = ("version", "commit", "date", "note")
PREFIX = "retention_upgrade_"
# The shop the test builds in each release: small, but with every kind of
# customer (datagen's steady history: loyal, seasonal, declining, churned...).
CUSTOMERS = 300
ORDERS_PER_CUSTOMER = 12.0
SEED = 21
# Settings a shop changed from their defaults; those a release has are set.
SETTINGS = {
    "retention_lookback_days": 900,
    "retention_new_days": 45,
    "retention_at_risk_factor": 2.5,
    "retention_lost_days": 400,
    "retention_group_field": "user_id",
    "retention_frequent_visits": 5,
    "retention_sms_cap_days": 14,
    "retention_sms_holdout_percent": 10.0,
    "retention_sms_winback_days": 45,
    # no quiet hours: the campaign is queued whatever the hour of the test
    "retention_sms_quiet_start": 0.0,
    "retention_sms_quiet_end": 0.0,
    "retention_ticket_band_width": 250.0,
    "retention_history_years": 4,
    "retention_call_daily_cap": 7,
    "retention_predict_horizon_days": 120,
}
# Tables the test keeps whole besides the addon's own (retention_*).
EXTRA_TABLES = ("sms_sms",)
# What a migration changes on purpose, left out of the comparison: table or
# noupdate record (its XML id without the module) -> {column: why}.
_JOBS_ON_COMPANY = "18.0.1.1.0: 4c66b00's daily and hourly jobs ran on res.partner"
MIGRATED = {
    "ir_cron_retention_recompute_ir_actions_server": {
        "model_id": _JOBS_ON_COMPANY,
        "model_name": _JOBS_ON_COMPANY,
    },
    "ir_cron_retention_recompute_changed_ir_actions_server": {
        "model_id": _JOBS_ON_COMPANY,
        "model_name": _JOBS_ON_COMPANY,
    },
}
# Company columns whose values a migration moved to another table: table ->
# (new table, its column holding the row's id, {column: new column}). The
# values must have arrived there (18.0.1.1.0: the nightly run's state in
# retention_run, issue 23).
MOVED = {
    "res_company": (
        "retention_run",
        "company_id",
        {
            "retention_run_as_of": "as_of",
            "retention_run_phase": "phase",
            "retention_run_cursor": "cursor",
            "retention_run_started": "started",
            "retention_run_written": "written",
            "retention_last_run": "last_run",
            "retention_last_attempt": "last_attempt",
            "retention_last_error": "last_error",
            "retention_recompute_requested": "requested",
            "retention_changed_until": "changed_until",
            "retention_report_until": "report_until",
            "retention_months_built": "months_built",
            "retention_prediction_params": "prediction_params",
            "retention_prediction_fitted_at": "prediction_fitted_at",
            "retention_prediction_model": "prediction_model",
            "retention_prediction_no_model": "prediction_no_model",
            "retention_prediction_bgnbd_auc": "prediction_bgnbd_auc",
            "retention_prediction_rhythm_auc": "prediction_rhythm_auc",
        },
    ),
}


def _values_in_res_partner(before):
    """4c66b00: retention values in res_partner, no retention_partner_state."""
    return "retention_partner_state" not in before["tables"]


# Moved values a migration changes on purpose: (new table, new column) ->
# (whether it does for the database snapshotted as ``before``, why).
MOVED_CHANGED = {
    ("retention_run", "last_run"): (
        _values_in_res_partner,
        "18.0.1.1.0: 4c66b00's next run is each company's first, asked for at once",
    ),
}
# Models whose table is not named after them (noupdate records).
TABLES = {
    "ir.actions.server": "ir_act_server",
    "ir.actions.act_window": "ir_act_window",
}


def say(message):
    print(f"tests.upgrade: {message}", flush=True)


def fail(message):
    print(f"tests.upgrade: {message}", file=sys.stderr, flush=True)
    return 1


# --------------------------------------------------------------------------
# Releases


@dataclasses.dataclass(frozen=True)
class Release:
    version: str  # "18.0.1.0.0", or "18.0.1.0.0 (pre-release 4c66b00)"
    commit: str
    date: str
    note: str

    @property
    def number(self):
        return parse_version(self.version.split()[0])

    @property
    def prerelease(self):
        return "pre-release" in self.version

    @property
    def label(self):
        return f"{self.version} at {self.commit}"


def parse_version(text):
    return tuple(int(part) for part in text.split("."))


def read_releases(text):
    """The rows of the table of RELEASES.md whose header is version |
    commit | date | note; rows without a commit (the working tree's version,
    unreleased) are left out."""
    releases, in_table = [], False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if tuple(cell.lower() for cell in cells) == RELEASE_COLUMNS:
            in_table = True
            continue
        if not in_table or set("".join(cells)) <= set("-: "):
            continue
        if len(cells) != len(RELEASE_COLUMNS):
            raise ValueError(f"RELEASES.md: a row with {len(cells)} cells: {line}")
        release = Release(*cells)
        if re.fullmatch(r"[0-9a-f]{7,40}", release.commit):
            release.number  # noqa: B018 (a version that does not parse fails here)
            releases.append(release)
    return releases


def manifest_version():
    manifest = (REPO_ROOT / ADDON / "__manifest__.py").read_text()
    return re.search(r"""["']version["']\s*:\s*["']([\d.]+)["']""", manifest).group(1)


def baselines(releases, current, choice=None):
    """The releases to upgrade from: the latest release below ``current``
    with the pre-releases of its version; or those ``choice`` names."""
    if choice == "all":
        return list(releases)
    if choice:
        return [
            r
            for r in releases
            if choice in (r.commit, r.version.split()[0]) or r.commit.startswith(choice)
        ]
    below = [r for r in releases if r.number < parse_version(current)]
    if not below:
        return []
    latest = max(r.number for r in below)
    return sorted((r for r in below if r.number == latest), key=lambda r: r.prerelease)


def extract(release, directory):
    """The addon as it was at the release's commit, in ``directory``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", release.commit, ADDON],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode:
        raise RuntimeError(
            f"git archive {release.commit} failed ({archive.stderr.decode().strip()}): "
            "is the commit in this clone's history? (git fetch --unshallow)"
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(directory, filter="data")
    return Path(directory)


# --------------------------------------------------------------------------
# Inside Odoo (odoo-bin shell): filling a release's database, the next run


def shell_script(function, result_path):
    """The ``odoo-bin shell`` input that runs ``function`` of this module on
    the shell's ``env`` and writes what it returns as JSON."""
    return (
        f"import sys\nsys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from tests import upgrade\n"
        f"upgrade.write_json({str(result_path)!r}, upgrade.{function}(env))\n"
    )


def write_json(path, value):
    Path(path).write_text(json.dumps(value, indent=1, sort_keys=True, default=str))


def fill(env):
    """A shop's database in the release whose code runs: its settings, its
    customers and orders, runs, a campaign, calls and a back-test, each as
    far as the release has them. Commits; returns what it made."""
    from .harness import datagen

    company = env.company
    company.write(
        {key: value for key, value in SETTINGS.items() if key in company._fields}
    )
    history = datagen.generate(
        CUSTOMERS, ORDERS_PER_CUSTOMER, seed=SEED, today=date.today(), steady=True
    )
    partners = env["res.partner"].browse(datagen.load(env, history).tolist())
    # COPY skips stored computes: the SMS need the numbers Odoo normalises
    env.add_to_compute(partners._fields["phone_sanitized"], partners)
    env.flush_all()
    env.cr.commit()
    Partner = env["res.partner"]
    if "retention.status.change" in env:
        # a run three weeks ago, then one a week (as tests/demo.py does)
        today = date.today()
        Partner.retention_recompute(as_of=today - timedelta(weeks=3))
        company.retention_last_run = datetime.now() - timedelta(weeks=3)
        for week in (2, 1):
            Partner.retention_recompute(as_of=today - timedelta(weeks=week))
        env.cr.commit()
    nightly(env)
    made = {"customers": len(partners), "campaign": sms_campaign(env)}
    env.cr.commit()
    if "retention.call" in env:
        made["calls"] = call_plan(env)
        env.cr.commit()
    if "retention.backtest" in env:
        company.retention_backtest()
        made["backtests"] = env["retention.backtest"].search_count([])
        env.cr.commit()
    return made


def nightly(env):
    """The release's daily job as the server runs it (its cron record, with
    the model and code stored in the database), called until every
    company's run has ended."""
    from odoo import fields

    cron = env.ref(f"{ADDON}.ir_cron_retention_recompute")
    Company = env["res.company"]
    for _call in range(200):
        cron.method_direct_trigger()
        env.cr.commit()
        now = fields.Datetime.now()
        if "retention.run" in env:  # 18.0.1.1.0: the run is a record of its own
            runs = env["retention.run"]._of(Company.search([]))
            due = any(run._due(now) for run in runs)
        elif hasattr(Company, "_retention_due"):
            due = any(company._retention_due(now) for company in Company.search([]))
        else:
            return  # 4c66b00: one call runs everything
        if not due:
            return
    raise RuntimeError("the daily job did not end in 200 calls")


def sms_campaign(env):
    """A win-back SMS to customers at risk or lost, queued through the
    addon's wizard as a salesperson's selection is (tests/demo.py)."""
    partners = env["res.partner"].search(
        [("retention_status", "in", ("at_risk", "lost")), ("mobile", "!=", False)],
        limit=60,
    )
    wizard = (
        env["retention.sms.wizard"]
        .with_context(retention_sms_partner_ids=partners.ids)
        .create({})
    )
    campaign = wizard._queue()
    if hasattr(campaign, "_measure"):
        campaign._measure()
    return {"lines": len(campaign.line_ids), "texted": campaign.sent_count}


def call_plan(env):
    """Win-back calls planned for customers at risk, half of them made."""
    partners = env["res.partner"].search(
        [("retention_status", "=", "at_risk")],
        order="retention_revenue desc",
        limit=30,
    )
    env.company._retention_plan_calls(limit_per_user=0, partners=partners)
    calls = env["retention.call"].search([("state", "=", "planned")], order="id")
    outcomes = ("won_back", "no_answer", "price", "pause")
    for index, call in enumerate(calls[: len(calls) // 2]):
        wizard = env["retention.call.outcome.wizard"].create(
            {"call_id": call.id, "outcome": outcomes[index % len(outcomes)]}
        )
        wizard.action_confirm()
    return len(calls)


def next_run(env):
    """After the upgrade, with the new code: the nightly run as Settings >
    Recompute now asks for it, then every other job of the addon once, as
    the server would run them; what they left."""
    companies = env["res.company"].search([])
    for company in companies:
        company._retention_request_recompute()
    env.cr.commit()
    nightly(env)
    daily = env.ref(f"{ADDON}.ir_cron_retention_recompute")
    jobs = env["ir.model.data"].search(
        [("module", "=", ADDON), ("model", "=", "ir.cron")]
    )
    for cron in env["ir.cron"].browse(jobs.mapped("res_id")).exists() - daily:
        cron.method_direct_trigger()
        env.cr.commit()
    Partner = env["res.partner"]
    statuses = {}
    for company in companies:
        groups = Partner.with_company(company)._read_group(
            [("retention_status", "!=", False)], ["retention_status"], ["__count"]
        )
        statuses[company.id] = {status: count for status, count in groups}
    # The combined views of res.partner (every inheriting view of the addon
    # and of Odoo) must load and name existing fields only.
    for view_type in ("list", "form", "kanban", "search", "pivot", "graph"):
        Partner.get_views([(False, view_type)])
    return {
        "statuses": statuses,
        "jobs": sorted(env["ir.cron"].browse(jobs.mapped("res_id")).mapped("name")),
        "errors": {
            run.company_id.id: run.last_error
            for run in env["retention.run"]._of(companies)
            if run.last_error
        },
    }


# --------------------------------------------------------------------------
# Outside Odoo: snapshots through SQL, the same for every release


def snapshot(server, dbname):
    """Everything an upgrade must keep, as plain values: every row of the
    addon's tables and of sms_sms (keyed by id, or by the whole row for
    relation tables), the company rows' retention_* columns, and the rows of
    the addon's noupdate records."""
    with server.connect(dbname) as connection, connection.cursor() as cr:
        cr.execute(
            """
            SELECT table_name FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
               AND (table_name LIKE 'retention\\_%%' OR table_name = ANY(%s))
            """,
            [list(EXTRA_TABLES)],
        )
        tables = {name: _rows(cr, name) for (name,) in cr.fetchall()}
        cr.execute(
            """
            SELECT column_name FROM information_schema.columns
             WHERE table_name = 'res_company' AND column_name LIKE 'retention\\_%'
            """
        )
        columns = [name for (name,) in cr.fetchall()]
        tables["res_company"] = _rows(cr, "res_company", ["id", *columns])
        cr.execute(
            """
            SELECT model, res_id, name FROM ir_model_data
             WHERE module = %s AND noupdate AND res_id IS NOT NULL
            """,
            [ADDON],
        )
        noupdate = {}
        for model, res_id, name in cr.fetchall():
            table = TABLES.get(model, model.replace(".", "_"))
            cr.execute(
                f'SELECT row_to_json(t) FROM "{table}" t WHERE id = %s', [res_id]
            )
            row = cr.fetchone()
            noupdate[name] = row and row[0]
        cr.execute(
            """
            SELECT name FROM ir_model_fields
             WHERE model = 'res.company' AND name LIKE 'retention\\_%'
               AND store AND NOT readonly
            """
        )
        settings = sorted(name for (name,) in cr.fetchall())
        cr.execute(
            """
            SELECT count(*), count(DISTINCT so.partner_id)
              FROM sale_order so WHERE so.state = 'sale'
            """
        )
        orders, customers = cr.fetchone()
        known = _customers_with_status(cr)
    return {
        "tables": tables,
        "noupdate": noupdate,
        "settings": settings,
        "orders": orders,
        "customers": customers,
        "known": known,
    }


def _customers_with_status(cr):
    """Customers with a retention status, wherever the release keeps it."""
    cr.execute("SELECT to_regclass('retention_partner_state')")
    if cr.fetchone()[0]:
        cr.execute(
            "SELECT count(*) FROM retention_partner_state WHERE status IS NOT NULL"
        )
        return cr.fetchone()[0]
    cr.execute(
        "SELECT 1 FROM information_schema.columns"
        " WHERE table_name = 'res_partner' AND column_name = 'retention_status'"
    )
    if not cr.fetchone():
        return 0
    # 4c66b00: company-dependent jsonb, {"company id": status}
    cr.execute("SELECT count(*) FROM res_partner WHERE retention_status IS NOT NULL")
    return cr.fetchone()[0]


def _rows(cr, table, columns=None):
    select = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
    cr.execute(f'SELECT row_to_json(t) FROM (SELECT {select} FROM "{table}") t')
    rows = [row for (row,) in cr.fetchall()]
    if rows and "id" in rows[0]:
        return {row["id"]: row for row in rows}
    return {json.dumps(row, sort_keys=True): row for row in rows}


def compare(before, after):
    """What the upgrade lost or altered, as sentences."""
    problems = []
    for table, rows in sorted(before["tables"].items()):
        if table not in after["tables"]:
            if rows:
                problems.append(f"table {table} ({len(rows)} rows) is gone")
            continue
        if table == "res_company":
            continue  # its settings are compared below
        problems += _compare_rows(
            table, rows, after["tables"][table], ignore=MIGRATED.get(table, ())
        )
    # Settings: the stored, editable retention_* fields of res.company in
    # the new version. Run state (readonly) is the job's and may be reset.
    settings = set(after["settings"])
    company_before = before["tables"]["res_company"]
    company_after = {
        id_: {k: v for k, v in row.items() if k in settings or k == "id"}
        for id_, row in after["tables"]["res_company"].items()
    }
    problems += _compare_rows(
        "res_company (settings)",
        {
            id_: {k: v for k, v in row.items() if k in settings or k == "id"}
            for id_, row in company_before.items()
        },
        company_after,
    )
    for name, row in sorted(before["noupdate"].items()):
        if name not in after["noupdate"]:
            problems.append(f"noupdate record {ADDON}.{name} is gone")
        elif row and after["noupdate"][name]:
            problems += _compare_rows(
                f"noupdate record {ADDON}.{name}",
                {row["id"]: row},
                {row["id"]: after["noupdate"][name]},
                ignore=(
                    "write_date",
                    "write_uid",
                    "lastcall",
                    "nextcall",
                    *MIGRATED.get(name, ()),
                ),
            )
    problems += _compare_moved(before, after)
    for key in ("orders", "customers"):
        if before[key] != after[key]:
            problems.append(f"{key}: {before[key]} before, {after[key]} after")
    return problems


def _compare_moved(before, after):
    """Whether the values of MOVED arrived in their new place."""
    problems = []
    for table, (new_table, key, columns) in MOVED.items():
        rows = after["tables"].get(new_table, {})
        by_key = {row[key]: row for row in rows.values()}
        for id_, row in before["tables"].get(table, {}).items():
            new = by_key.get(row["id"])
            if new is None:
                problems.append(f"{new_table}: no row for {table} {id_}")
                continue
            for column, new_column in columns.items():
                if column not in row:
                    continue
                changed_on_purpose = MOVED_CHANGED.get((new_table, new_column))
                if changed_on_purpose and changed_on_purpose[0](before):
                    continue
                if new.get(new_column) != row[column]:
                    problems.append(
                        f"{table}.{column} -> {new_table}.{new_column}: row {id_}: "
                        f"{row[column]!r} before, {new.get(new_column)!r} after"
                    )
    return problems


def _compare_rows(table, before, after, ignore=()):
    problems = []
    lost = [key for key in before if key not in after]
    if lost:
        problems.append(f"{table}: {len(lost)} of {len(before)} rows lost ({lost[:5]})")
    changed = {}
    for key, row in before.items():
        new = after.get(key)
        if new is None:
            continue
        for column, value in row.items():
            if column in ignore:
                continue
            if column not in new:
                changed.setdefault(
                    column, f"the column is gone ({value!r} in row {key})"
                )
            elif new[column] != value:
                changed.setdefault(
                    column, f"row {key}: {value!r} before, {new[column]!r} after"
                )
    problems += [
        f"{table}.{column}: {what}" for column, what in sorted(changed.items())
    ]
    return problems


# --------------------------------------------------------------------------
# The test


def check_release(server, data_dir, release, scratch, target=REPO_ROOT):
    """Upgrade a database of ``release`` to the addon in ``target``; the
    problems found."""
    started = time.monotonic()
    addon_root = extract(release, Path(scratch) / release.commit)
    name = f"{PREFIX}{os.getpid()}_{release.commit[:7]}"
    logs = Path(data_dir) / "upgrade-logs"
    old = OdooDatabase(server, name, data_dir, addon_root=addon_root)
    old.drop()  # a leftover of a killed run with the same pid
    say(f"{release.label}: installing it into {name}...")
    old.install(log_file=logs / f"{name}-install.log")
    say(f"{release.label}: filling it ({CUSTOMERS} customers) with its own code...")
    made_path = Path(scratch) / f"{name}-made.json"
    old.shell(
        shell_script("fill", made_path), logs / f"{name}-fill.log", check_log=True
    )
    made = json.loads(made_path.read_text())
    before = snapshot(server, name)
    say(
        f"{release.label}: {before['customers']} customers, {before['orders']} orders; "
        + ", ".join(
            f"{table} {len(rows)}"
            for table, rows in sorted(before["tables"].items())
            if rows and table != "res_company"
        )
        + f" (made: {made})"
    )
    new = dataclasses.replace(old, addon_root=target)
    where = "the working tree" if target == REPO_ROOT else target
    say(f"{release.label}: -u {ADDON} with {where}...")
    updated = time.monotonic()
    new.update(log_file=logs / f"{name}-update.log", log_level="info")
    say(f"{release.label}: updated in {time.monotonic() - updated:.0f} s")
    problems = compare(before, snapshot(server, name))
    result_path = Path(scratch) / f"{name}-next-run.json"
    new.shell(
        shell_script("next_run", result_path),
        logs / f"{name}-next-run.log",
        check_log=True,
    )
    problems += check_next_run(
        server, name, before, json.loads(result_path.read_text())
    )
    say(
        f"{release.label}: {'FAILED' if problems else 'passed'} in "
        f"{time.monotonic() - started:.0f} s"
    )
    if problems:
        keep_logs(logs, name)
    new.drop()
    return problems


def keep_logs(logs, name):
    """The logs of a failed upgrade, where they outlive the run."""
    kept = REPO_ROOT / "var" / "log" / "upgrade"
    kept.mkdir(parents=True, exist_ok=True)
    for log in Path(logs).glob(f"{name}*.log"):
        shutil.copy(log, kept / log.name)
    say(f"logs of {name} kept in {kept}")


def check_next_run(server, dbname, before, result):
    """What is wrong with the run after the upgrade."""
    problems = [
        f"the run after the upgrade failed in company {company}: {error}"
        for company, error in result["errors"].items()
    ]
    statuses = result["statuses"].get("1") or {}
    if sum(statuses.values()) != before["customers"]:
        problems.append(
            f"after the next run {sum(statuses.values())} customers have a status, "
            f"{before['customers']} have confirmed orders ({statuses})"
        )
    if len(statuses) < 2:
        problems.append(f"the next run gave one status to everybody: {statuses}")
    # A customer the release had computed is no customer seen for the first
    # time: the history must not start again after an upgrade.
    first_seen = {
        id_
        for (id_,) in server.execute(
            "SELECT id FROM retention_status_change WHERE old_status IS NULL",
            dbname=dbname,
        )
    } - set(before["tables"].get("retention_status_change", {}))
    unknown = before["customers"] - before["known"]
    if len(first_seen) > unknown:
        problems.append(
            f"the run after the upgrade recorded {len(first_seen)} customers as "
            f"seen for the first time; {unknown} had no status before it"
        )
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.upgrade", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--from",
        dest="choice",
        help="a version or commit of RELEASES.md, or 'all' (default: the latest "
        "release below the manifest's version and its pre-releases)",
    )
    parser.add_argument(
        "--to",
        type=Path,
        default=REPO_ROOT,
        help="the directory holding the addon to upgrade to (default: this "
        "working tree)",
    )
    options = parser.parse_args(argv)

    def body(stack):
        server = stack.enter_context(pg.server_from_env())
        data_dir = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="retention-upgrade-")
        )
        return run(server, Path(data_dir), options.choice, options.to.resolve())

    return cli.run(
        prereq.problems(("odoo", "pandas", "phonenumbers", "scipy")),
        fail,
        body,
        lambda error: f"{error}\n--- last lines of the log ---\n{error.log_tail}\n"
        "--- end of log ---\ntests.upgrade: an install, shell or update failed",
    )


def run(server, data_dir, choice=None, target=REPO_ROOT):
    """The upgrade test on ``server``, to the addon in ``target``; its exit
    status."""
    current = manifest_version()
    try:
        releases = read_releases(RELEASES_FILE.read_text())
    except (OSError, ValueError) as error:
        return fail(f"cannot read the releases: {error}")
    chosen = baselines(releases, current, choice)
    if not chosen:
        return fail(
            f"no release to upgrade from in RELEASES.md (manifest {current}, "
            f"--from {choice or 'default'})"
        )
    say(
        f"upgrading to {'the working tree' if target == REPO_ROOT else target} "
        f"({current}) from " + ", ".join(release.label for release in chosen)
    )
    started = time.monotonic()
    failures = {}
    with tempfile.TemporaryDirectory(prefix="retention-releases-") as scratch:
        for release in chosen:
            try:
                problems = check_release(server, data_dir, release, scratch, target)
            except RuntimeError as error:  # git archive, or OdooError (a RuntimeError)
                problems = [str(error), *_log_tail(error)]
                keep_logs(Path(data_dir) / "upgrade-logs", f"{PREFIX}{os.getpid()}_")
            if problems:
                failures[release.label] = problems
    say(f"{len(chosen)} upgrades in {time.monotonic() - started:.0f} s")
    for label, problems in failures.items():
        fail(f"upgrade from {label} FAILED:\n  - " + "\n  - ".join(problems))
    return 1 if failures else 0


def _log_tail(error):
    """The lines of a failed Odoo command's log that say what failed: its
    errors and the last lines of its traceback."""
    lines = getattr(error, "log_tail", "").splitlines()
    errors = [line for line in lines if re.search(r" (ERROR|CRITICAL) ", line)]
    return errors[-6:] + [line for line in lines if line.strip()][-8:]


if __name__ == "__main__":
    sys.exit(main())
