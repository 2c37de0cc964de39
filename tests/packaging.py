"""Check the README's install without an addons path: ``python3 -m tests.packaging``.

What a user does::

    python3 -m pip install .
    odoo-bin -d DB -i customer_retention --without-demo=all --stop-after-init

and what this script does, in a temporary directory deleted at exit:

1. copies the addon and setup.py (the files git knows, new ones included: what a
   clone would build; no stale ``build/`` or ``__pycache__``), and runs
   ``python3 -m pip install --no-deps --target SITE`` on the copy (``--target``
   instead of site-packages, so that nothing on the machine changes; Odoo and the
   addon's requirements stay those of this Python);
2. checks that every file of the addon reached SITE/odoo/addons/customer_retention
   (every data file of the manifest, translations, images, tour, the engine) and
   that the package left Odoo's own ``odoo`` and ``odoo.addons`` alone (no
   ``__init__.py`` of theirs);
3. checks the namespace packages: with SITE on PYTHONPATH, ``odoo.addons.__path__``
   has SITE/odoo/addons and Odoo's default addons path finds the addon there;
   without it, Odoo does not find the addon at all (so this repository cannot
   stand in for the package);
4. runs ``odoo-bin -i customer_retention --without-demo=all --stop-after-init``
   on a new database with no ``--addons-path`` (Odoo's default, its own addons)
   and no configuration file, then reads the module's state in
   ``ir_module_module``: it must be ``installed``.

PostgreSQL as for ``tests.run``: the server in ``RETENTION_DB_HOST`` (+ ``_PORT``,
``_USER``, ``_PASSWORD``), whose database is dropped at the end, else a throwaway
cluster. Exits 0 when every check passed, 1 with what failed otherwise. Takes one
install of the addon and a pip install: about a minute of CPU (three minutes on a
busy two-core machine).
"""

import ast
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from .harness import pg, prereq
from .harness.odoo_env import (
    ADDON,
    LOG_ERROR,
    REPO_ROOT,
    odoo_command,
    run_interruptible,
    subprocess_env,
    tail,
)

# What setup.py needs besides the addon (the ones that exist).
BUILD_FILES = ("setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in")
DATABASE_PREFIX = "retention_packaging_"

# Run by Odoo's interpreter with or without SITE on PYTHONPATH: prints the
# portions of odoo.addons, then where Odoo's default addons path (no
# configuration file, no --addons-path) finds the addon, or False.
LOCATE = textwrap.dedent(
    f"""
    import odoo.addons
    print(repr(list(odoo.addons.__path__)))
    from odoo.tools import config
    config.parse_config([])
    from odoo.modules.module import get_module_path, initialize_sys_path
    initialize_sys_path()
    print(repr(get_module_path({ADDON!r}, display_warning=False)))
    """
)


class PackagingError(Exception):
    """A check failed; the message says which and why."""


def say(message):
    print(f"tests.packaging: {message}", flush=True)


def source_files():
    """The addon's files, relative to the repository: the ones git tracks or
    would track (new, not ignored), else every file but bytecode."""
    result = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", ADDON],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode == 0 and result.stdout:
        names = [name for name in result.stdout.split("\0") if name]
    else:  # not a git checkout (an unpacked sdist, say)
        names = [
            str(path.relative_to(REPO_ROOT))
            for path in (REPO_ROOT / ADDON).rglob("*")
            if path.is_file()
        ]
    return sorted(
        name
        for name in names
        if (REPO_ROOT / name).is_file()  # tracked but deleted in the work tree
        and "__pycache__" not in Path(name).parts
        and Path(name).suffix not in (".pyc", ".pyo")
    )


def copy_source(files, destination):
    for name in [*BUILD_FILES, *files]:
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def pip_install(source, site, log_file):
    argv = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site)]
    with open(log_file, "w") as log:
        log.write("$ " + " ".join(argv + [str(source)]) + "\n")
        log.flush()
        code = run_interruptible(
            argv + [str(source)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
    if code:
        raise PackagingError(f"pip install failed (exit {code}):\n{tail(log_file, 30)}")


def check_installed_files(files, site):
    """Every file of the addon is in the installed package, the manifest's
    data files among them, and Odoo's own packages are untouched."""
    addons = site / "odoo" / "addons"
    installed = addons / ADDON
    if not (installed / "__manifest__.py").is_file():
        raise PackagingError(
            f"no {installed.relative_to(site)}/__manifest__.py in the installed "
            "package: setup.py does not install the addon as odoo/addons/" + ADDON
        )
    missing = [name for name in files if not (addons / name).is_file()]
    manifest = ast.literal_eval((installed / "__manifest__.py").read_text())
    for key in ("data", "demo"):
        for name in manifest.get(key, []):
            if not (installed / name).is_file():
                missing.append(f"{ADDON}/{name} (manifest '{key}')")
    for bundle, patterns in manifest.get("assets", {}).items():
        for pattern in patterns:
            pattern = pattern[-1] if isinstance(pattern, list | tuple) else pattern
            if pattern.startswith(f"{ADDON}/") and not glob.glob(
                str(addons / pattern), recursive=True
            ):
                missing.append(f"{pattern} (manifest assets '{bundle}')")
    if missing:
        raise PackagingError(
            "files of the addon missing from the installed package (extend DATA "
            "in setup.py):\n  " + "\n  ".join(sorted(set(missing)))
        )
    shadows = [
        str(path.relative_to(site))
        for path in (site / "odoo" / "__init__.py", addons / "__init__.py")
        if path.exists()
    ]
    if shadows:
        raise PackagingError(
            "the package installs " + " and ".join(shadows) + ": odoo and odoo.addons "
            "are namespace packages, an __init__.py of the addon's package would "
            "shadow or overwrite Odoo's"
        )
    return len(files)


def locate(env, cwd):
    """``(odoo.addons.__path__, the addon's path or False)`` in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", LOCATE],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode or len(lines) < 2:
        raise PackagingError(
            f"could not ask Odoo where the addon is (exit {result.returncode}):\n"
            + (result.stdout + result.stderr).strip()[-2000:]
        )
    return ast.literal_eval(lines[-2]), ast.literal_eval(lines[-1])


def check_namespace(site, environ, bare_environ, cwd):
    """odoo.addons finds the addon through SITE, and only through it."""
    expected = (site / "odoo" / "addons").resolve()
    portions, found = locate(environ, cwd)
    if str(expected) not in [str(Path(path).resolve()) for path in portions]:
        raise PackagingError(
            f"{expected} is not in odoo.addons.__path__ with {site} on PYTHONPATH "
            f"({portions}): odoo.addons is not extended as a namespace package"
        )
    if not found or Path(found).resolve() != expected / ADDON:
        raise PackagingError(
            f"Odoo's default addons path finds {ADDON} at {found!r}, not in the "
            f"installed package {expected / ADDON}"
        )
    _portions, found_without = locate(bare_environ, cwd)
    if found_without:
        raise PackagingError(
            f"without the package on PYTHONPATH Odoo still finds {ADDON} at "
            f"{found_without}: the install check would not prove anything"
        )
    return found


def odoo_install(server, database, data_dir, environ, log_file):
    argv = odoo_command() + [
        f"--database={database}",
        f"--init={ADDON}",
        "--without-demo=all",
        "--stop-after-init",
        *server.odoo_args(),
        f"--data-dir={data_dir}",
        f"--http-port={pg.free_port()}",
        "--max-cron-threads=0",
        "--log-level=warn",
    ]
    with open(log_file, "w") as log:
        log.write("$ " + " ".join(argv) + "\n")
        log.flush()
        code = run_interruptible(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environ,
            cwd=data_dir,
        )
    if code < 0:
        raise KeyboardInterrupt
    if code:
        raise PackagingError(f"odoo-bin exited with {code}:\n{tail(log_file)}")
    if LOG_ERROR.search(Path(log_file).read_text(errors="replace")):
        raise PackagingError(f"odoo-bin logged errors:\n{tail(log_file)}")
    rows = server.execute(
        "SELECT state, latest_version FROM ir_module_module WHERE name = %s",
        [ADDON],
        dbname=database,
    )
    if not rows or rows[0][0] != "installed":
        raise PackagingError(
            f"{ADDON} is not installed after odoo-bin -i (ir_module_module: {rows})"
        )
    return rows[0]


def run(scratch, server):
    started = time.monotonic()
    files = source_files()
    if f"{ADDON}/__manifest__.py" not in files:
        raise PackagingError(f"no {ADDON}/__manifest__.py under {REPO_ROOT}")
    source, site, data_dir = scratch / "source", scratch / "site", scratch / "odoo"
    data_dir.mkdir()
    copy_source(files, source)
    pip_install(source, site, scratch / "pip.log")
    say(f"pip install --target: {time.monotonic() - started:.0f} s")

    count = check_installed_files(files, site)
    say(f"all {count} files of the addon are in the installed package")

    # No configuration file (so no addons_path from ~/.odoorc) and no addons path.
    empty_config = scratch / "odoo.conf"
    empty_config.write_text("[options]\n")
    bare_environ = subprocess_env(ODOO_RC=str(empty_config))
    bare_environ.pop("OPENERP_SERVER", None)
    environ = {
        **bare_environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(site), os.environ.get("PYTHONPATH")])
        ),
    }
    found = check_namespace(site, environ, bare_environ, data_dir)
    say(f"odoo.addons.{ADDON} resolves to {found} (namespace package)")

    database = f"{DATABASE_PREFIX}{os.getpid()}"
    server.drop_database(database)  # a leftover of a killed run with the same pid
    try:
        install_started = time.monotonic()
        state, version = odoo_install(
            server, database, data_dir, environ, scratch / "install.log"
        )
        say(
            f"odoo-bin -i {ADDON} without --addons-path: {state} {version} "
            f"({time.monotonic() - install_started:.0f} s)"
        )
    finally:
        with contextlib.suppress(Exception):
            server.drop_database(database)
    return time.monotonic() - started


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    problems = prereq.problems(("odoo", "pandas", "phonenumbers"))
    if problems:
        say("cannot run:\n  - " + "\n  - ".join(problems))
        return 1
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="retention-packaging-") as scratch,
            pg.server_from_env() as server,
        ):
            elapsed = run(Path(scratch), server)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except pg.PostgresError as error:
        say(f"FAILED: PostgreSQL: {error}")
        return 1
    except PackagingError as error:
        say(f"FAILED: {error}")
        return 1
    say(
        f"OK in {elapsed:.0f} s: pip install . then odoo-bin -i {ADDON} "
        "installs the addon with no addons path"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
