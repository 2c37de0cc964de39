"""Odoo's own tests with and without the addon: ``python3 -m tests.core_tests``.

An addon that breaks the core's tests breaks the CI of whoever installs it.
This runs the standard tests of the modules the addon touches (``sale``,
``sms``, ``phone_validation``, ``contacts``) twice, one run after the other
(a 2-core machine cannot afford two Odoo test runs side by side):

baseline
    ``-i sale_management,sms,contacts``: the addon's dependencies alone;
with addon
    ``-i customer_retention,contacts``: the same plus the addon;

each ``--without-demo=all --test-enable --test-tags
/sale,/sms,/contacts,/phone_validation --stop-after-init`` into a new
database, with its own ``--data-dir`` and a free ``--http-port`` (browser
tours included: they need Chromium and websocket-client, checked first, or
Odoo would skip them and still report success).

Each log is parsed into per-test outcomes: ``Starting <Class>.<method> ...``
(logger: the test's Python module), the ``FAIL: <test>`` and ``ERROR:
<test>`` records, ``skipped <test> : <reason>``, and the summary
``odoo.tests.result: N failed, N error(s) of N tests``. The tests that failed
are then run once more, alone (``--test-tags /module:Class.method``), on a
copy of the database they failed in (``CREATE DATABASE ... TEMPLATE``), to
tell a tour that lost a race on a loaded machine from real breakage: a test
counts as failing only if it failed both times.

What it can see: Odoo runs a module's ``at_install`` tests right after
installing that module, while the registry holds only the module and its
dependencies, so the core's ``at_install`` tests run before the addon is
loaded; the ``post_install`` tests run with every module loaded and are the
ones the addon can break. The table says how many of each ran.

Both runs and the reruns load one copy of the addon, taken at the start (its
commit, whether the working tree differed, and its fingerprint are
recorded): the working tree may change meanwhile, and a rerun loading newer
code than its database was installed with fails on columns that do not exist.

It prints a comparison table and writes ``benchmark/results/core_tests.json``
(with the machine's description); the logs and the failed tours' screenshots
stay in ``var/log/core_tests/``. Exit status: 0 when the addon adds no
failure (every test that passes without it passes with it, none goes missing
or is skipped instead), 1 otherwise, 130 when interrupted. PostgreSQL:
``RETENTION_DB_HOST`` (see ``tests/harness/pg.py``) or a throwaway cluster,
stopped and deleted at exit, also on Ctrl-C.
"""

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .harness import cli, pg, prereq
from .harness.odoo_env import (
    ADDON,
    REPO_ROOT,
    OdooDatabase,
    OdooError,
    addon_fingerprint,
    addons_path,
    odoo_command,
    run_interruptible,
    subprocess_env,
)

TEST_TAGS = "/sale,/sms,/contacts,/phone_validation"
RUNS = {  # label: modules installed
    "baseline": ("sale_management", "sms", "contacts"),
    "with addon": (ADDON, "contacts"),
}
LOG_DIR = REPO_ROOT / "var" / "log" / "core_tests"
RESULT_FILE = REPO_ROOT / "benchmark" / "results" / "core_tests.json"
DB_PREFIX = "retention_core_"
PREREQUISITES = ("odoo", "pandas", "phonenumbers", "websocket-client", "browser")
FAILING = ("failed", "error")

# "2025-07-02 10:00:00,123 4242 ERROR dbname odoo.addons.sale.tests.test_x: text",
# the text running on over the next lines (tracebacks) until the next record
RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ (?P<level>[A-Z]+) \S+ "
    r"(?P<logger>[\w.]+): "
)
STARTING = re.compile(r"Starting (?P<test>[\w.]+) \.\.\.")
SKIPPED = re.compile(r"skipped (?P<test>[\w.]+) : ")
# odoo/tests/result.py logError: "FAIL: Class.method", "ERROR: Class.method",
# "FAIL: Subtest Class.method (params)",
# "ERROR: setUpClass (odoo.addons.m.tests.f.Class)" (logger odoo.tests.suite)
REPORTED = re.compile(r"(?P<flavour>FAIL|ERROR): (?P<description>.*)")
SUBTEST = re.compile(r"Subtest (?P<test>[\w.]+) ")
CLASS_LEVEL = re.compile(
    r"(?P<hook>setUpClass|tearDownClass|setUpModule|tearDownModule) "
    r"\((?P<where>[\w.]+)\)"
)
SUMMARY = re.compile(
    r"(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<run>\d+) tests"
)
TEST_MODULE = re.compile(r"^odoo\.addons\.(?P<addon>\w+)\.tests\.")
# ERROR records that only restate failures already reported test by test
RESTATEMENTS = (
    re.compile(r"Module \w+: \d+ failures, \d+ errors of \d+ tests"),
    re.compile(r"At least one test failed when loading the modules"),
    re.compile(r": at least one error occurred in a test"),
    SUMMARY,
)


def say(message):
    print(f"tests.core_tests: {message}", flush=True)


def fail(message):
    print(f"tests.core_tests: {message}", file=sys.stderr, flush=True)
    return 1


# ---------------------------------------------------------------------- the log


@dataclass
class TestRun:
    """What one odoo-bin run's log says. Test ids are the test's dotted path,
    ``odoo.addons.sale.tests.test_x.Class.method``; outcomes are passed,
    skipped, failed (an assertion) or error (an exception)."""

    outcomes: dict = field(default_factory=dict)
    post_install: set = field(default_factory=set)  # run after "Starting post tests"
    tracebacks: dict = field(default_factory=dict)  # the first report of each failure
    summary: dict | None = None  # Odoo's own count: failed, errors, run
    other_errors: list = field(default_factory=list)  # ERROR records of no test

    def count(self, *outcomes):
        return sum(outcome in outcomes for outcome in self.outcomes.values())

    def failing(self):
        return sorted(
            test for test, outcome in self.outcomes.items() if outcome in FAILING
        )


def records(text):
    """``(level, logger, message)`` for each log record, with the message's
    continuation lines."""
    current = None
    for line in text.splitlines():
        match = RECORD.match(line)
        if match:
            if current:
                yield current[0], current[1], "\n".join(current[2]).rstrip()
            current = [match["level"], match["logger"], [line[match.end() :]]]
        elif current:
            current[2].append(line)
    if current:
        yield current[0], current[1], "\n".join(current[2]).rstrip()


def test_id(logger, description):
    """The id of the test that ``logger`` reports as ``description``; a
    class-level error becomes ``...Class.setUpClass``."""
    subtest = SUBTEST.match(description)
    if subtest:
        description = subtest["test"]
    class_level = CLASS_LEVEL.match(description)
    if class_level:
        return f"{class_level['where']}.{class_level['hook']}"
    return f"{logger}.{description.split()[0]}"


def parse_log(text):
    run = TestRun()
    post_install = False
    for level, logger, message in records(text):
        first_line = message.split("\n", 1)[0].strip()
        starting, skipped = STARTING.fullmatch(first_line), SKIPPED.match(first_line)
        reported, summary = REPORTED.match(first_line), SUMMARY.search(first_line)
        if logger == "odoo.service.server" and first_line == "Starting post tests":
            post_install = True
        elif logger == "odoo.tests.result" and summary:
            run.summary = {
                key: int(value) for key, value in summary.groupdict().items()
            }
        elif level == "INFO" and starting and TEST_MODULE.match(logger):
            test = test_id(logger, starting["test"])
            run.outcomes.setdefault(test, "passed")
            if post_install:
                run.post_install.add(test)
        elif level == "INFO" and skipped and TEST_MODULE.match(logger):
            run.outcomes[test_id(logger, skipped["test"])] = "skipped"
        elif level == "ERROR" and reported:
            test = test_id(logger, reported["description"])
            if run.outcomes.get(test) != "error":  # an error outranks a failure
                run.outcomes[test] = (
                    "failed" if reported["flavour"] == "FAIL" else "error"
                )
            run.tracebacks.setdefault(test, message)
        elif level in ("ERROR", "CRITICAL") and not any(
            pattern.search(first_line) for pattern in RESTATEMENTS
        ):
            # a tour's own report ("...Class.method.browser: FAILED: ...") is its test's
            if not any(logger.startswith(test + ".") for test in run.outcomes):
                run.other_errors.append(f"{logger}: {message}"[:2000])
    return run


def rerun_tag(test):
    """The ``--test-tags`` filter that selects ``test`` alone (its class for a
    class-level error)."""
    match = TEST_MODULE.match(test)
    if not match:
        return None
    klass, method = test.split(".")[-2:]
    if method in ("setUpClass", "tearDownClass"):
        return f"/{match['addon']}:{klass}"
    return f"/{match['addon']}:{klass}.{method}"


def rerun_outcome(rerun, test):
    """``test``'s outcome in ``rerun``: its own, or an error when its class
    could not be set up (then the method never starts)."""
    klass = test.rsplit(".", 1)[0]
    for hook in ("setUpClass", "tearDownClass"):
        if rerun.outcomes.get(f"{klass}.{hook}") in FAILING:
            return "error"
    return rerun.outcomes.get(test, "not run")


# ------------------------------------------------------------------------- Odoo


@dataclass
class Addon:
    """The copy of the addon that every run loads."""

    parent: Path  # the directory that holds the copy, for --addons-path
    commit: str
    dirty: bool  # the working tree differed from the commit
    fingerprint: str

    @classmethod
    def snapshot(cls, directory):
        parent = Path(directory)
        shutil.copytree(
            REPO_ROOT / ADDON,
            parent / ADDON,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )

        def git(*args):
            return subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True
            ).stdout.strip()

        return cls(
            parent=parent,
            commit=git("rev-parse", "HEAD"),
            dirty=bool(git("status", "--porcelain", "--", ADDON)),
            fingerprint=addon_fingerprint(parent / ADDON),
        )

    def addons_path(self):
        """Odoo's addons and the copy, instead of the repository."""
        paths = [path for path in addons_path().split(",") if path != str(REPO_ROOT)]
        return ",".join([*paths, str(self.parent)])


def odoo_tests(database, addon, log_file, scratch, tags, modules=()):
    """Run the tests selected by ``tags`` on ``database``, installing
    ``modules`` first (into a new database) when given; what Odoo prints goes
    to ``log_file``. Returns ``(exit code, seconds, TestRun)``."""
    arguments = []
    if modules:
        arguments += ["--init=" + ",".join(modules), "--without-demo=all"]
    arguments += [
        "--test-enable",
        f"--test-tags={tags}",
        "--stop-after-init",
        "--log-level=info",  # the "Starting <test> ..." records are INFO
        "--http-interface=127.0.0.1",  # the test server is ours alone
        f"--screenshots={LOG_DIR}",  # failed tours: <db>/screenshots/*.png
    ]
    # the harness's options: the database and PostgreSQL, --data-dir, a free
    # --http-port, no cron thread; the addons path points at the copy
    server_args = [
        f"--addons-path={addon.addons_path()}"
        if arg.startswith("--addons-path=")
        else arg
        for arg in database.server_args()
    ]
    argv = odoo_command() + server_args + arguments
    log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_file, "w") as log:
        log.write("$ " + " ".join(argv) + "\n")
        log.flush()
        code = run_interruptible(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Chrome litters TMPDIR with profiles: a directory deleted at exit
            env=subprocess_env(TMPDIR=scratch),
            cwd=REPO_ROOT,
        )
    seconds = time.monotonic() - started
    if code < 0:  # killed by a signal: a Ctrl-C reached it before us
        raise KeyboardInterrupt
    return code, seconds, parse_log(log_file.read_text(errors="replace"))


def command_line(modules, tags):
    """The command as a reader would type it."""
    init = f"-i {','.join(modules)} --without-demo=all " if modules else ""
    return f"odoo-bin -d DB {init}--test-enable --test-tags {tags} --stop-after-init"


# ------------------------------------------------------------------- comparison


def final_outcomes(first, rerun):
    """A test fails on a side only if it failed in the first run and again in
    the rerun: passing once makes it flaky, not broken."""
    outcomes = dict(first.outcomes)
    for test in first.failing():
        if rerun and rerun_outcome(rerun, test) in ("passed", "skipped"):
            outcomes[test] = "flaky"
    return outcomes


def compare(baseline, addon):
    """The differences between the final outcomes without and with the addon."""

    def tests(outcomes, keep):
        return sorted(test for test, outcome in outcomes.items() if keep(test, outcome))

    return {
        "fail_only_with_addon": tests(
            addon, lambda test, o: o in FAILING and baseline.get(test) not in FAILING
        ),
        "missing_with_addon": sorted(set(baseline) - set(addon)),
        "skipped_only_with_addon": tests(
            addon, lambda test, o: o == "skipped" and baseline.get(test) == "passed"
        ),
        "fail_only_without_addon": tests(
            baseline, lambda test, o: o in FAILING and addon.get(test) not in FAILING
        ),
        "fail_in_both": tests(
            addon, lambda test, o: o in FAILING and baseline.get(test) in FAILING
        ),
        "only_with_addon": sorted(set(addon) - set(baseline)),
        "flaky": {
            "baseline": tests(baseline, lambda test, o: o == "flaky"),
            "with addon": tests(addon, lambda test, o: o == "flaky"),
        },
    }


# the differences that fail the run
BREAKAGE = ("fail_only_with_addon", "missing_with_addon", "skipped_only_with_addon")
TITLES = {
    "fail_only_with_addon": "fail only with the addon (after the rerun)",
    "missing_with_addon": "ran without the addon, not with it",
    "skipped_only_with_addon": "pass without the addon, skipped with it",
    "fail_only_without_addon": "fail only without the addon",
    "fail_in_both": "fail with and without the addon (not the addon's doing)",
    "only_with_addon": "ran only with the addon",
}


def rerun_cell(key):
    def cell(result):
        rerun = result["rerun"]
        if not rerun:
            return "-"
        if key == "still_failing":
            return sum(
                outcome not in ("passed", "skipped")
                for outcome in rerun["outcomes"].values()
            )
        return f"{rerun['seconds']:.0f}" if key == "seconds" else len(rerun[key])

    return cell


TABLE = (
    ("exit code", lambda r: r["exit_code"]),
    ("duration (s)", lambda r: f"{r['seconds']:.0f}"),
    ("tests run (Odoo's count)", lambda r: r["summary"]["run"]),
    ("tests started (log)", lambda r: r["started"]),
    ("  of which post_install", lambda r: r["post_install"]),
    ("passed", lambda r: r["passed"]),
    ("skipped", lambda r: r["skipped"]),
    ("failed", lambda r: r["failed"]),
    ("errors", lambda r: r["errors"]),
    ("other ERROR records", lambda r: len(r["other_errors"])),
    ("rerun: tests", rerun_cell("tests")),
    ("rerun: failed again", rerun_cell("still_failing")),
    ("rerun: duration (s)", rerun_cell("seconds")),
    ("failing after the rerun", lambda r: len(r["failing_after_rerun"])),
)


def print_table(results, differences):
    width = 14
    print()
    print(f"{'':26}" + "".join(f"{label:>{width}}" for label in results))
    for name, cell in TABLE:
        cells = "".join(f"{str(cell(result)):>{width}}" for result in results.values())
        print(f"{name:26}{cells}")
    for label, result in results.items():
        print(f"{label}: {result['command']}")
    print()
    for key, title in TITLES.items():
        tests = differences[key]
        if tests or key in BREAKAGE:
            print(f"{title}: {len(tests) or 'none'}")
        for test in tests:
            print(f"  - {test}")
    for label, tests in differences["flaky"].items():
        if tests:
            print(f"flaky {label} (failed, then passed alone): " + ", ".join(tests))


# ------------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.core_tests", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--tags", default=TEST_TAGS, help=f"default {TEST_TAGS}")
    parser.add_argument("--output", type=Path, default=RESULT_FILE, help="JSON summary")
    options = parser.parse_args(argv)
    return cli.run(
        prereq.problems(PREREQUISITES),
        fail,
        lambda stack: compare_runs(stack, options),
        lambda error: f"{error}\n{error.log_tail}",
    )


def compare_runs(stack, options):
    started = time.monotonic()
    scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="retention-core-"))
    addon = Addon.snapshot(Path(scratch) / "addons")
    say(
        f"testing {ADDON} as of {addon.commit[:12]}"
        + (" plus uncommitted changes" if addon.dirty else "")
        + f" (a copy; fingerprint {addon.fingerprint[:12]})"
    )
    server = stack.enter_context(pg.server_from_env())
    shutil.rmtree(LOG_DIR, ignore_errors=True)  # a previous run's logs and screenshots
    LOG_DIR.mkdir(parents=True)
    results, runs = {}, {}
    for number, (label, modules) in enumerate(RUNS.items(), 1):
        database = new_database(stack, server, label)
        say(f"run {number}/{len(RUNS)}, {label}: {command_line(modules, options.tags)}")
        result, run = first_run(database, addon, scratch, options.tags, label, modules)
        results[label], runs[label] = result, (database, run, None)
    for label, (database, run, _rerun) in runs.items():
        if run.failing():
            rerun = rerun_failures(
                stack, database, addon, scratch, label, run, results[label]
            )
            runs[label] = (database, run, rerun)
    final = {
        label: final_outcomes(run, rerun) for label, (_d, run, rerun) in runs.items()
    }
    for label, outcomes in final.items():
        results[label]["failing_after_rerun"] = sorted(
            test for test, outcome in outcomes.items() if outcome in FAILING
        )
    differences = compare(final["baseline"], final["with addon"])
    breaks = any(differences[key] for key in BREAKAGE)
    print_table(results, differences)
    for test in differences["fail_only_with_addon"]:
        _database, run, rerun = runs["with addon"]
        report = (rerun and rerun.tracebacks.get(test)) or run.tracebacks.get(test, "")
        print(f"\n--- {test}, with the addon ---\n{report}")
    seconds = time.monotonic() - started
    write_summary(options, addon, results, differences, breaks, seconds)
    verdict = "breaks core tests" if breaks else "adds no failure to the core's tests"
    say(f"{ADDON} {verdict} ({rel(options.output)}; {seconds:.0f} s in all)")
    return 1 if breaks else 0


def new_database(stack, server, label):
    slug = label.replace(" ", "_")
    data_dir = stack.enter_context(
        tempfile.TemporaryDirectory(prefix=f"retention-{slug}-")
    )
    database = OdooDatabase(server, DB_PREFIX + slug, Path(data_dir))
    if server.data_dir is None:  # a server we do not own: drop what we create
        stack.callback(_quietly, database.drop)
        database.drop()
    return database


def first_run(database, addon, scratch, tags, label, modules):
    log_file = LOG_DIR / f"{label.replace(' ', '_')}.log"
    code, seconds, run = odoo_tests(database, addon, log_file, scratch, tags, modules)
    say(f"{label}: exit {code} in {seconds:.0f} s; Odoo says {summary_text(run)}")
    if run.summary is None:
        raise OdooError(
            f"{label}: no test summary: Odoo did not finish (log: {rel(log_file)})",
            _tail(log_file),
        )
    result = {
        "modules": list(modules),
        "command": command_line(modules, tags),
        "exit_code": code,
        "seconds": round(seconds, 1),
        "log": rel(log_file),
        "summary": run.summary,
        "started": len(run.outcomes),
        "post_install": len(run.post_install),
        "passed": run.count("passed"),
        "skipped": run.count("skipped"),
        "failed": run.count("failed"),
        "errors": run.count("error"),
        "failing": {
            test: first_lines(run.tracebacks.get(test)) for test in run.failing()
        },
        "other_errors": run.other_errors,
        "rerun": None,
    }
    return result, run


def rerun_failures(stack, database, addon, scratch, label, run, result):
    """Run ``run``'s failed tests once more, alone, on a copy of ``database``."""
    tests = run.failing()
    tags = ",".join(sorted({tag for tag in map(rerun_tag, tests) if tag}))
    copy = database.clone(database.name + "_rerun")
    stack.callback(_quietly, copy.drop)
    log_file = LOG_DIR / f"{label.replace(' ', '_')}-rerun.log"
    say(f"rerun, {label}: {len(tests)} failed test(s) alone, on a copy of the database")
    code, seconds, rerun = odoo_tests(copy, addon, log_file, scratch, tags)
    copy.drop()
    say(
        f"rerun, {label}: exit {code} in {seconds:.0f} s; "
        f"Odoo says {summary_text(rerun)}"
    )
    result["rerun"] = {
        "test_tags": tags,
        "tests": tests,
        "exit_code": code,
        "seconds": round(seconds, 1),
        "log": rel(log_file),
        "summary": rerun.summary,
        "outcomes": {test: rerun_outcome(rerun, test) for test in tests},
        "failing": {
            test: first_lines(rerun.tracebacks.get(test)) for test in rerun.failing()
        },
    }
    return rerun


def write_summary(options, addon, results, differences, breaks, seconds):
    from odoo import release

    from .benchmark import machine  # late: it pulls numpy and the data generator

    summary = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "odoo": release.version,
        "addon": {
            "commit": addon.commit,
            "uncommitted_changes": addon.dirty,
            "fingerprint": addon.fingerprint,
        },
        "test_tags": options.tags,
        "machine": machine(),
        "seconds": round(seconds, 1),
        "runs": results,
        "differences": differences,
        "addon_breaks_core_tests": breaks,
        "exit_code": 1 if breaks else 0,
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    temporary = options.output.with_name(options.output.name + ".tmp")
    temporary.write_text(json.dumps(summary, indent=2) + "\n")
    temporary.replace(options.output)


def summary_text(run):
    if run.summary is None:
        return "nothing (no summary line)"
    return "{failed} failed, {errors} error(s) of {run} tests".format(**run.summary)


def first_lines(text, lines=40):
    return "\n".join((text or "").splitlines()[:lines])


def rel(path):
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _tail(path, lines=40):
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def _quietly(function):
    with contextlib.suppress(Exception):
        function()


if __name__ == "__main__":
    sys.exit(main())
