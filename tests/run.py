"""The test command: ``python3 -m tests.run [pytest arguments]``.

Runs every test (the pure engine tests in ``tests/`` and the Odoo tests in
``customer_retention/tests/``, browser tests included) against a freshly
installed database, and exits with pytest's status; "no tests collected"
counts as a failure. Extra arguments go to pytest: ``-x``, ``-k cron``,
``customer_retention/tests/test_cron.py``, ``--lf``.

PostgreSQL
    ``RETENTION_DB_HOST`` (+ ``_PORT``, ``_USER``, ``_PASSWORD``) set: that
    server; the run's database is dropped at the end. Otherwise a throwaway
    cluster in a temporary directory, stopped and deleted at exit (also on
    Ctrl-C or failure). See ``tests/harness/pg.py``.

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
from pathlib import Path

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
    return parser.parse_known_args(argv)


def main(argv=None):
    options, pytest_args = parse_args(sys.argv[1:] if argv is None else argv)
    if options.stop_cluster:
        pg.stop_cluster(VAR / "pgtest" / "data")
        return 0

    def body(stack):
        database = (keep_mode if options.keep else throwaway_mode)(stack)
        # Chrome and Odoo's browser tests litter TMPDIR (profiles,
        # org.chromium.*): give them one to lose
        scratch = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="retention-tmp-")
        )
        return run_pytest(database, pytest_args, scratch)

    return cli.run(
        prereq.problems(),
        fail,
        body,
        lambda error: f"{error}\n--- last lines of the log ---\n{error.log_tail}\n"
        f"--- end of log ---\ntests.run: installing {ADDON} failed",
    )


def throwaway_mode(stack):
    """A server (RETENTION_DB_* or a new cluster), a temporary data
    directory, a new database with the addon installed; all gone at exit."""
    started = time.monotonic()
    server = stack.enter_context(pg.server_from_env())
    data_dir = Path(
        stack.enter_context(tempfile.TemporaryDirectory(prefix="retention-odoo-"))
    )
    database = OdooDatabase(server, f"{RUN_PREFIX}{os.getpid()}", data_dir)
    if server.data_dir is None:  # a server we do not own: drop what we created
        stack.callback(_quietly, database.drop)
        database.drop()  # a leftover of a killed run with the same pid
    say(f"installing {ADDON} into a new database ({where(server)})...")
    database.install(log_file=data_dir / "install.log")
    say(f"installed in {time.monotonic() - started:.0f} s")
    return database


def keep_mode(stack):
    """The persistent cluster in var/, a template per addon fingerprint, a
    copy of it for this run."""
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
        template = ensure_template(server, data_dir, prune=own_cluster)
        database = template.clone(f"{RUN_PREFIX}{os.getpid()}")
    stack.callback(_quietly, database.drop)
    say(f"testing a copy of {template.name} ({where(server)}; --stop-cluster stops it)")
    return database


def ensure_template(server, data_dir, prune=True):
    template = OdooDatabase(
        server, TEMPLATE_PREFIX + addon_fingerprint()[:12], data_dir
    )
    if server.database_exists(template.name):
        return template
    started = time.monotonic()
    say(
        f"{ADDON} changed: installing it into a new template {template.name} "
        "(once per change)..."
    )
    building = OdooDatabase(server, template.name + "_building", data_dir)
    building.drop()
    building.install(log_file=VAR / "log" / f"install-{template.name}.log")
    building.warm_assets(
        log_file=VAR / "log" / f"assets-{template.name}.log"
    )  # -3 s per browser run
    template = building.rename(template.name)
    for name in server.databases() if prune else ():
        if name.startswith(TEMPLATE_PREFIX) and name != template.name:
            OdooDatabase(server, name, data_dir).drop()  # an older version of the addon
    say(f"template ready in {time.monotonic() - started:.0f} s")
    return template


def drop_abandoned_runs(server, data_dir):
    """Databases of runs that were killed before they could clean up."""
    for name in server.databases():
        pid = name[len(RUN_PREFIX) :]
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
