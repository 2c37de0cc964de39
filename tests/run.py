"""The test command: ``python3 -m tests.run [pytest arguments]``.

Runs every test (the pure engine tests in ``tests/`` and the Odoo tests in
``customer_retention/tests/``, browser tests included) against a freshly
installed database, then a second pass, the point-of-sale pass, and exits
with the first failing pass's pytest status (0 when both pass); "no tests
collected" counts as a failure. Extra arguments go to pytest: ``-x``, ``-k
cron``, ``customer_retention/tests/test_cron.py``, ``--lf``.

The point-of-sale pass
    The addon reads point-of-sale orders when ``point_of_sale`` is
    installed, without depending on it. The first pass proves that it
    installs and works without it (test_pos.py skips itself there); the
    second installs ``customer_retention`` with ``OPTIONAL_MODULES``
    (point_of_sale, and loyalty and OCA's partner_contact_gender and
    partner_contact_birthdate, which the customer summary and segments read
    when present, and OCA's queue_job, which does the nights when present)
    into a database of its own and runs ``POS_TEST_PATHS`` (test_pos.py,
    test_sources.py, test_optional_modules.py, test_queue_job.py), with the
    extra flags (``-x``, ``-q``, ...). It runs when the arguments select
    no tests (no test path, no ``-k``, ``-m``,
    ``--lf``, ...). A selection applies to the first pass alone and the
    point-of-sale pass is skipped, with a message. ``--pos-only`` runs the
    point-of-sale pass alone (on the selection given, on ``POS_TEST_PATHS``
    when no path is); ``--no-pos`` leaves it out. In developer mode its
    template is kept like the first one's (installing point_of_sale costs
    a few minutes once per version of the addon, then seconds).

PostgreSQL
    ``RETENTION_DB_HOST`` (+ ``_PORT``, ``_USER``, ``_PASSWORD``) set: that
    server; the run's database is dropped at the end. Otherwise a throwaway
    cluster in a temporary directory, stopped and deleted at exit (also on
    Ctrl-C or failure). See ``tests/harness/pg.py``.

The upgrade test
    After the passes, ``tests/upgrade.py`` installs the latest release of
    RELEASES.md (and its pre-releases) from its commit, fills it, upgrades
    it to the working tree with ``-u`` and checks that nothing was lost and
    that the next run works (two or three minutes). Like the point-of-sale
    pass it runs when the arguments select no tests; ``--no-upgrade``
    leaves it out, ``python3 -m tests.upgrade`` runs it alone.

Odoo's own tests
    Last, ``tests/core_tests.py`` runs Odoo's tests of the modules the addon
    extends (sale, sms, contacts, phone_validation) on a database without
    the addon and on one with it, in a cluster of its own, and fails when a
    test fails only with the addon (about 15 minutes). It runs when the
    arguments select no tests; ``--no-core`` leaves it out, ``python3 -m
    tests.core_tests`` runs it alone.

Developer mode: ``--keep`` or ``RETENTION_TEST_KEEP=1``
    The cluster lives in ``var/pgtest`` and stays running between runs
    (``--stop-cluster`` stops it); the addon is installed once into a
    template database named after a hash of the addon's files (its tests
    excepted), with the web client's assets prebuilt, and each run tests a
    copy of it (``CREATE DATABASE ... TEMPLATE``, about 2 s), so a run costs
    little more than pytest's own time until the addon's code, data or views
    change. The template's install log stays in ``var/log``. Safe to run
    concurrently.

Browser tests get a private TMPDIR, deleted at exit, for Chrome's litter.

Why the pytest plugin is switched on here and off in pytest.ini
    pytest-odoo's session fixture ``load_registry`` is autouse: without an
    Odoo database it fails every test, including the engine tests that must
    run without Odoo. ``pytest.ini`` therefore disables the plugin (``addopts
    = -p no:odoo``) and this runner re-enables it with ``-p odoo``: pytest
    processes ``-p`` in order, and a later ``-p NAME`` unblocks an earlier
    ``-p no:NAME``. So ``python3 -m pytest tests/engine`` needs no flag.
"""

import argparse
import contextlib
import fcntl
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import upgrade
from .harness import cli, pg, prereq
from .harness.odoo_env import (
    ADDON,
    REPO_ROOT,
    OdooDatabase,
    addon_fingerprint,
    run_interruptible,
    subprocess_env,
)

VAR = REPO_ROOT / "var"
TEST_PATHS = ("tests", f"{ADDON}/tests")
TEMPLATE_PREFIX = "retention_tmpl_"
RUN_PREFIX = "retention_test_"
EXIT_NO_TESTS = 5
POS_TEST_PATHS = (
    f"{ADDON}/tests/test_pos.py",
    f"{ADDON}/tests/test_sources.py",
    f"{ADDON}/tests/test_optional_modules.py",
    f"{ADDON}/tests/test_queue_job.py",
)
# What the addon uses when it is there without depending on it: the till,
# the loyalty points, OCA's gender and birthdate of a contact, OCA's job
# queue for the nights.
OPTIONAL_MODULES = (
    "point_of_sale",
    "loyalty",
    "partner_contact_gender",
    "partner_contact_birthdate",
    "queue_job",
)
# pytest options that select tests: with one, the point-of-sale pass is skipped
SELECTING = ("-k", "-m", "--lf", "--last-failed", "--sw", "--stepwise", "--deselect")


@dataclass(frozen=True)
class Pass:
    """A database to test in: the modules installed, the prefix of its
    template's name (developer mode), the suffix of the run's database."""

    label: str
    modules: tuple
    template_prefix: str
    run_suffix: str
    warm_assets: bool  # browser tests run in it


MAIN = Pass("main", (ADDON,), TEMPLATE_PREFIX, "", True)
# Its own prefix: a template of one pass never prunes the other's.
POS = Pass(
    "point of sale", (ADDON, *OPTIONAL_MODULES), "retention_pos_tmpl_", "_pos", False
)


def say(message):
    print(f"tests.run: {message}", flush=True)


def fail(message):
    print(f"tests.run: {message}", file=sys.stderr, flush=True)
    return 1


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.run",
        add_help=False,
        allow_abbrev=False,
        description="Run all tests; unknown arguments go to pytest.",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        default=os.environ.get("RETENTION_TEST_KEEP") == "1",
    )
    parser.add_argument("--stop-cluster", action="store_true")
    pos = parser.add_mutually_exclusive_group()
    pos.add_argument("--pos-only", action="store_true")
    pos.add_argument("--no-pos", action="store_true")
    parser.add_argument("--no-upgrade", action="store_true")
    parser.add_argument("--no-core", action="store_true")
    return parser.parse_known_args(argv)


def _is_path(arg):
    return not arg.startswith("-") and (REPO_ROOT / arg.split("::")[0]).exists()


def _selects(pytest_args):
    """Whether the pytest arguments select tests (paths, -k, --lf, ...)."""
    return any(
        _is_path(arg) or arg.split("=")[0] in SELECTING or arg[:2] in ("-k", "-m")
        for arg in pytest_args
    )


def plan(options, pytest_args):
    """The passes to run, as (Pass, pytest arguments)."""
    pos_args = list(pytest_args)
    if not any(_is_path(arg) for arg in pytest_args):
        pos_args += POS_TEST_PATHS
    if options.pos_only:
        return [(POS, pos_args)]
    passes = [(MAIN, list(pytest_args))]
    if options.no_pos:
        return passes
    if _selects(pytest_args):
        say("tests selected: the point-of-sale pass is skipped (--pos-only runs it)")
        return passes
    return [*passes, (POS, pos_args)]


def main(argv=None):
    options, pytest_args = parse_args(sys.argv[1:] if argv is None else argv)
    if options.stop_cluster:
        pg.stop_cluster(VAR / "pgtest" / "data")
        return 0

    def body(stack):
        # Chrome and Odoo's browser tests litter TMPDIR (profiles,
        # org.chromium.*): give them one to lose
        scratch = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="retention-tmp-")
        )
        status = 0
        for test_pass, args in plan(options, pytest_args):
            if test_pass is not MAIN:
                say(f"{test_pass.label} pass: {', '.join(test_pass.modules)}")
            database = (keep_mode if options.keep else throwaway_mode)(stack, test_pass)
            started = time.monotonic()
            code = run_pytest(database, args, scratch)
            say(
                f"{test_pass.label} pass: pytest exited with {code} "
                f"in {time.monotonic() - started:.0f} s"
            )
            status = status or code
        if runs_upgrade(options, pytest_args):
            started = time.monotonic()
            code = upgrade.run(*upgrade_server(stack, options))
            elapsed = time.monotonic() - started
            say(f"upgrade test: exited with {code} in {elapsed:.0f} s")
            status = status or code
        if runs_core(options, pytest_args):
            started = time.monotonic()
            # Its own process and cluster, as when run alone: it installs
            # Odoo's modules with and without the addon from a copy of it.
            # Not our scratch TMPDIR: that directory is private to us (0700),
            # and under root the cluster it creates there belongs to
            # 'postgres', which could not enter it. It gives Chrome its own.
            code = run_interruptible(
                [sys.executable, "-m", "tests.core_tests"],
                cwd=REPO_ROOT,
                env=subprocess_env(),
            )
            elapsed = time.monotonic() - started
            say(
                f"Odoo's own tests with and without the addon: exited with {code} "
                f"in {elapsed:.0f} s"
            )
            status = status or code
        return status

    return cli.run(
        prereq.problems(),
        fail,
        body,
        lambda error: f"{error}\n--- last lines of the log ---\n{error.log_tail}\n"
        f"--- end of log ---\ntests.run: installing {ADDON} failed",
    )


def runs_upgrade(options, pytest_args):
    """Whether the upgrade test runs after the passes (see the docstring)."""
    if options.no_upgrade or options.pos_only:
        return False
    if _selects(pytest_args):
        say("tests selected: the upgrade test is skipped (python3 -m tests.upgrade)")
        return False
    return True


def runs_core(options, pytest_args):
    """Whether Odoo's own tests run after the upgrade test (see the
    docstring)."""
    if options.no_core or options.pos_only:
        return False
    if _selects(pytest_args):
        say(
            "tests selected: Odoo's own tests are skipped (python3 -m tests.core_tests)"
        )
        return False
    return True


def upgrade_server(stack, options):
    """The server and data directory of the upgrade test: the run's own."""
    if not options.keep:
        return _throwaway_server(stack)
    data_dir = VAR / "odoo-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.environ.get("RETENTION_DB_HOST"):
        return stack.enter_context(pg.external_server()), data_dir
    with file_lock(VAR / "pgtest.lock"):
        return stack.enter_context(pg.persistent_cluster(VAR / "pgtest")), data_dir


def throwaway_mode(stack, test_pass=MAIN):
    """A server (RETENTION_DB_* or a new cluster, one for all passes), a
    temporary data directory, a new database with the pass's modules
    installed; all gone at exit."""
    started = time.monotonic()
    server, data_dir = _throwaway_server(stack)
    database = OdooDatabase(
        server, f"{RUN_PREFIX}{os.getpid()}{test_pass.run_suffix}", data_dir
    )
    if server.data_dir is None:  # a server we do not own: drop what we created
        stack.callback(_quietly, database.drop)
        database.drop()  # a leftover of a killed run with the same pid
    modules = ", ".join(test_pass.modules)
    say(f"installing {modules} into a new database ({where(server)})...")
    database.install(
        test_pass.modules, log_file=data_dir / f"install-{database.name}.log"
    )
    say(f"installed in {time.monotonic() - started:.0f} s")
    return database


_throwaway = {}


def _throwaway_server(stack):
    if not _throwaway:
        _throwaway["server"] = stack.enter_context(pg.server_from_env())
        _throwaway["data_dir"] = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="retention-odoo-"))
        )
    return _throwaway["server"], _throwaway["data_dir"]


def keep_mode(stack, test_pass=MAIN):
    """The persistent cluster in var/, a template per pass and addon
    fingerprint, a copy of it for this run."""
    data_dir = VAR / "odoo-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(VAR / "pgtest.lock"):
        if os.environ.get("RETENTION_DB_HOST"):
            server = stack.enter_context(pg.external_server())
        else:
            server = stack.enter_context(pg.persistent_cluster(VAR / "pgtest"))
        own_cluster = (
            server.data_dir is not None
        )  # an external server may be shared: leave others' alone
        if own_cluster:
            drop_abandoned_runs(server, data_dir)
        template = ensure_template(server, data_dir, test_pass, prune=own_cluster)
        database = template.clone(f"{RUN_PREFIX}{os.getpid()}{test_pass.run_suffix}")
    stack.callback(_quietly, database.drop)
    say(f"testing a copy of {template.name} ({where(server)}; --stop-cluster stops it)")
    return database


def ensure_template(server, data_dir, test_pass=MAIN, prune=True):
    prefix = test_pass.template_prefix
    salt = ",".join(test_pass.modules[1:])  # the main pass's names are unchanged
    template = OdooDatabase(
        server, prefix + addon_fingerprint(salt=salt)[:12], data_dir
    )
    if server.database_exists(template.name):
        return template
    started = time.monotonic()
    modules = ", ".join(test_pass.modules)
    say(
        f"{ADDON} changed: installing {modules} into a new template "
        f"{template.name} (once per change)..."
    )
    building = OdooDatabase(server, template.name + "_building", data_dir)
    building.drop()
    building.install(
        test_pass.modules, log_file=VAR / "log" / f"install-{template.name}.log"
    )
    if test_pass.warm_assets:
        building.warm_assets(
            log_file=VAR / "log" / f"assets-{template.name}.log"
        )  # -3 s per browser run
    template = building.rename(template.name)
    for name in server.databases() if prune else ():
        if name.startswith(prefix) and name != template.name:
            OdooDatabase(server, name, data_dir).drop()  # an older version of the addon
    say(f"template ready in {time.monotonic() - started:.0f} s")
    return template


def drop_abandoned_runs(server, data_dir):
    """Databases of runs that were killed before they could clean up
    (``retention_test_<pid>``, ``retention_test_<pid>_pos``)."""
    for name in server.databases():
        pid = name[len(RUN_PREFIX) :].split("_")[0]
        if name.startswith(RUN_PREFIX) and pid.isdigit() and not _alive(int(pid)):
            OdooDatabase(server, name, data_dir).drop()


def run_pytest(database, pytest_args, scratch):
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "odoo",  # re-enable pytest-odoo, disabled in pytest.ini (see the docstring)
        "-p",
        "tests.harness.pytest_plugin",  # see its docstring
        "-o",
        "testpaths=" + " ".join(TEST_PATHS),  # used only when no path is given
        *database.pytest_args(),
        *pytest_args,
    ]
    code = run_interruptible(command, cwd=REPO_ROOT, env=subprocess_env(TMPDIR=scratch))
    if code == EXIT_NO_TESTS:
        return fail("pytest collected no tests: that is a failure")
    return code


@contextlib.contextmanager
def file_lock(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def where(server):
    if server.data_dir is None:
        return f"server {server.host}:{server.port}"
    return f"PostgreSQL cluster in {server.data_dir.parent}"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _quietly(function):
    with contextlib.suppress(Exception):
        function()


if __name__ == "__main__":
    sys.exit(main())
