"""Odoo as a subprocess: install the addon, run scripts, hand pytest its options.

Odoo is found by importing it, never copied: the addons shipped in the
``odoo`` package (``odoo/addons``) plus this repository form the addons
path, and the server is ``$ODOO_BIN``, else the ``odoo-bin`` beside the
package (a source checkout), else ``python -m odoo`` (a pip install).

Example::

    with pg.throwaway_cluster() as server:
        database = OdooDatabase(server, "demo", data_dir)
        database.install(log_file=data_dir / "install.log")
        database.shell("env['res.partner'].create({'name': 'X'}); env.cr.commit()")
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import pg

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDON = "customer_retention"
ODOO_SERIES = (18, 0)
# "2025-07-02 10:00:00,000 1234 ERROR db odoo.modules...: message"
LOG_ERROR = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) ", re.MULTILINE)


class OdooError(RuntimeError):
    """An Odoo subprocess failed; ``log_tail`` holds the end of its log."""

    def __init__(self, message, log_tail=""):
        super().__init__(message)
        self.log_tail = log_tail


def odoo_package():
    """The directory of the ``odoo`` package (imports it)."""
    import odoo

    return Path(odoo.__file__).resolve().parent


def odoo_command():
    """The argv prefix that starts the Odoo server CLI."""
    override = os.environ.get("ODOO_BIN")
    if override:
        path = Path(override)
        if not path.is_file():
            raise OdooError(f"ODOO_BIN={override} does not exist")
        return [sys.executable, str(path)] if _is_python_script(path) else [str(path)]
    odoo_bin = odoo_package().parent / "odoo-bin"
    if odoo_bin.is_file():
        return [sys.executable, str(odoo_bin)]
    return [sys.executable, "-m", "odoo"]


def _is_python_script(path):
    # run Python scripts with our interpreter: it is the one with Odoo's dependencies
    with open(path, "rb") as handle:
        first_line = handle.readline(200)
    return path.suffix == ".py" or (
        first_line.startswith(b"#!") and b"python" in first_line
    )


def addons_path(*extra, addon_root=REPO_ROOT):
    """Odoo's own addons, then ``addon_root``: this repository, which holds
    the addon, or a directory holding an earlier release of it
    (tests/upgrade.py)."""
    package = odoo_package()
    paths = [package / "addons"]
    checkout_addons = (
        package.parent / "addons"
    )  # git checkout layout: <root>/addons next to <root>/odoo
    if (checkout_addons / "web" / "__manifest__.py").is_file():
        paths.append(checkout_addons)
    paths += [addon_root, *extra]
    return ",".join(str(path) for path in paths)


def subprocess_env(**extra):
    # odoo-bin sets TZ=UTC before anything imports time; python -m odoo and
    # pytest do not
    return {**os.environ, "TZ": "UTC", "PYTHONUNBUFFERED": "1", **extra}


def addon_fingerprint(addon_dir=REPO_ROOT / ADDON, salt=""):
    """A hash of everything that shapes an installed database: the addon's
    files (its tests excepted), Odoo's version and ``salt``."""
    from odoo import release

    digest = hashlib.sha256(f"{release.version}\0{odoo_package()}\0{salt}\0".encode())
    for path in sorted(Path(addon_dir).rglob("*")):
        relative = path.relative_to(addon_dir)
        if (
            not path.is_file()
            or relative.parts[0] == "tests"
            or "__pycache__" in relative.parts
            or path.suffix in (".pyc", ".pyo")
        ):
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def run_interruptible(argv, grace=30, **popen_args):
    """``subprocess.call`` that, when we are interrupted (Ctrl-C, or SIGTERM
    turned into KeyboardInterrupt), passes a SIGINT on to the child and gives
    it ``grace`` seconds to shut down cleanly (Odoo stops its HTTP server,
    Chrome is closed) before killing it; then re-raises."""
    process = subprocess.Popen(argv, **popen_args)
    try:
        return process.wait()
    except KeyboardInterrupt:
        try:
            try:
                process.wait(
                    timeout=1
                )  # a Ctrl-C in the terminal reached the child too
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=grace)
        except (KeyboardInterrupt, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        raise


def _link_or_copy(source, destination):
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def tail(path, lines=60):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class OdooDatabase:
    """One Odoo database on ``server``, its filestore under ``data_dir``."""

    server: pg.Server
    name: str
    data_dir: Path
    # Where the addon comes from (see addons_path)
    addon_root: Path = REPO_ROOT

    @property
    def filestore(self):
        return Path(self.data_dir) / "filestore" / self.name

    def server_args(self, http_port=None):
        """Options shared by every odoo-bin command on this database. Crons
        are off (``--max-cron-threads=0``); a later option overrides that."""
        return [
            f"--addons-path={addons_path(addon_root=self.addon_root)}",
            f"--database={self.name}",
            *self.server.odoo_args(),
            f"--data-dir={self.data_dir}",
            f"--http-port={http_port or pg.free_port()}",
            "--max-cron-threads=0",
        ]

    def run(self, arguments, log_file, command=(), stdin="", check_log=True):
        """Run ``odoo-bin [command] <server args> <arguments>`` with ``stdin``
        as its input and everything it prints going to ``log_file``; raise
        :class:`OdooError` with the end of the log when it fails or logs an
        ERROR. Returns the exit code."""
        argv = odoo_command() + list(command) + self.server_args() + list(arguments)
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "w") as log, tempfile.TemporaryFile("w+") as input_file:
            log.write("$ " + " ".join(argv) + "\n")
            log.flush()
            input_file.write(stdin)
            input_file.seek(0)
            code = run_interruptible(
                argv,
                stdin=input_file,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=subprocess_env(),
                cwd=REPO_ROOT,
            )
        if code < 0:  # killed by a signal: a Ctrl-C reached it before us
            raise KeyboardInterrupt
        if code != 0:
            raise OdooError(
                f"odoo-bin exited with {code} (log: {log_file})", tail(log_file)
            )
        if check_log and LOG_ERROR.search(Path(log_file).read_text(errors="replace")):
            raise OdooError(f"odoo-bin logged errors (log: {log_file})", tail(log_file))
        return code

    def install(self, modules=(ADDON,), log_file=None, demo=False, log_level="warn"):
        """Create the database if needed and install ``modules``."""
        arguments = [
            "--init=" + ",".join(modules),
            "--stop-after-init",
            f"--log-level={log_level}",
        ]
        if not demo:
            arguments.append("--without-demo=all")
        return self.run(
            arguments, log_file or Path(self.data_dir) / f"install-{self.name}.log"
        )

    def update(self, modules=(ADDON,), log_file=None, log_level="warn"):
        arguments = [
            "--update=" + ",".join(modules),
            "--stop-after-init",
            f"--log-level={log_level}",
        ]
        return self.run(
            arguments, log_file or Path(self.data_dir) / f"update-{self.name}.log"
        )

    def shell(self, script, log_file=None, log_level="warn", check_log=False):
        """Run Python ``script`` with ``env`` bound (``odoo-bin shell``). The
        shell rolls back at the end: call ``env.cr.commit()`` to keep changes."""
        return self.run(
            ["--no-http", f"--log-level={log_level}"],
            log_file or Path(self.data_dir) / f"shell-{self.name}.log",
            command=["shell"],
            stdin=script,
            check_log=check_log,
        )

    def warm_assets(self, bundles=("web.assets_web",), log_file=None):
        """Build the web client's asset bundles now, so that the first browser
        test on this database (or on its copies) does not pay for them."""
        script = (
            "\n".join(
                f"bundle = env['ir.qweb']._get_asset_bundle({name!r}); "
                "bundle.js(); bundle.css()"
                for name in bundles
            )
            + "\nenv.cr.commit()\n"
        )
        self.shell(
            script,
            log_file or Path(self.data_dir) / f"assets-{self.name}.log",
            check_log=True,
        )

    def pytest_args(self, log_level="warn", http=True):
        """pytest-odoo options that point the plugin at this database
        (``--odoo-extra=x=y`` becomes Odoo's ``--x=y``)."""
        extras = [option[2:] for option in self.server.odoo_args()]
        extras += [
            f"data-dir={self.data_dir}",
            "http-interface=127.0.0.1",
        ]  # the test server is ours alone
        args = [
            f"--odoo-database={self.name}",
            f"--odoo-addons-path={addons_path(addon_root=self.addon_root)}",
            *(f"--odoo-extra={extra}" for extra in extras),
            f"--odoo-log-level={log_level}",
        ]
        if http:
            args.append("--odoo-http")  # without it pytest-odoo skips every HttpCase
        return args

    def clone(self, name):
        """A copy of this database and its filestore (CREATE DATABASE ...
        TEMPLATE: seconds, where installing takes a minute)."""
        self.server.create_database(name, template=self.name)
        copy = OdooDatabase(self.server, name, self.data_dir, self.addon_root)
        if self.filestore.is_dir():
            shutil.rmtree(copy.filestore, ignore_errors=True)
            # Odoo never rewrites a filestore file (their names are content
            # hashes), so the copy may share them with the original
            shutil.copytree(self.filestore, copy.filestore, copy_function=_link_or_copy)
        return copy

    def rename(self, name):
        self.server.rename_database(self.name, name)
        renamed = OdooDatabase(self.server, name, self.data_dir, self.addon_root)
        shutil.rmtree(renamed.filestore, ignore_errors=True)
        if self.filestore.is_dir():
            self.filestore.rename(renamed.filestore)
        return renamed

    def drop(self):
        self.server.drop_database(self.name)
        shutil.rmtree(self.filestore, ignore_errors=True)
