"""Screenshots of the demo: ``python3 -m tests.screenshots``.

Starts the demo server in the background (building the demo database first
if needed: ``python3 -m tests.demo --no-serve``), logs in as a salesperson
in headless Chromium driven over the DevTools protocol, and saves the list,
kanban and pivot of Customer Retention and each Retention Analysis report
as PNG files (default:
``customer_retention/static/description/``), where the README and Odoo's
app page show them.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

from .harness import pg
from .harness.odoo_env import REPO_ROOT, subprocess_env

OUTPUT = REPO_ROOT / "customer_retention" / "static" / "description"
ACTION = "customer_retention.action_customer_retention"
VIEWS = {
    "list": "screenshot_list.png",
    "kanban": "screenshot_kanban.png",
    "pivot": "screenshot_pivot.png",
}
LOGIN = ("salesrep1", "salesrep1")  # a salesperson made by the demo generator
# Retention Analysis: (action, view type, file, what to wait for)
ANALYSIS = [
    (
        "customer_retention.action_retention_report",
        "pivot",
        "screenshot_who_came_back.png",
        ".o_pivot_cell_value",
    ),
    (
        "customer_retention.action_retention_status_flow",
        "pivot",
        "screenshot_status_flows.png",
        ".o_pivot_cell_value",
    ),
    (
        "customer_retention.action_retention_pulse_week",
        "graph",
        "screenshot_visits_per_week.png",
        ".o_graph_renderer canvas",
    ),
    (
        "customer_retention.action_retention_status_month",
        "graph",
        "screenshot_status_by_month.png",
        ".o_graph_renderer canvas",
    ),
    (
        "customer_retention.action_retention_visit_hour",
        "pivot",
        "screenshot_quiet_hours.png",
        ".o_pivot_cell_value",
    ),
    (
        "customer_retention.action_retention_cohort",
        "pivot",
        "screenshot_cohorts.png",
        ".o_pivot_cell_value",
    ),
    (
        "customer_retention.action_retention_category_gap",
        "list",
        "screenshot_category_gaps.png",
        ".o_data_row",
    ),
    (
        "customer_retention.action_retention_source_report",
        "pivot",
        "screenshot_retention_by_source.png",
        ".o_pivot_cell_value",
    ),
    (
        "customer_retention.action_retention_call",
        "pivot",
        "screenshot_call_outcomes.png",
        ".o_pivot_cell_value",
    ),
]
# The customer summary: the first of the Top Spenders, its Retention tab.
SUMMARY = ("customer_retention.action_retention_top_spenders", "screenshot_summary.png")
# The latest back-test of the demo (python3 -m tests.demo --backtest), its form.
BACKTEST = ("customer_retention.action_retention_backtest", "screenshot_backtest.png")


class Browser:
    """Just enough of the DevTools protocol: navigate, evaluate, capture."""

    def __init__(self, width=1600, height=1000):
        self.profile = tempfile.mkdtemp(prefix="retention-chrome-")
        port = pg.free_port()
        chromium = shutil.which("chromium") or shutil.which("google-chrome")
        self.process = subprocess.Popen(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                targets = json.load(
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/json")
                )
                page = next(t for t in targets if t["type"] == "page")
                break
            except (OSError, StopIteration):
                time.sleep(0.1)
        else:
            raise RuntimeError("Chromium did not start")
        self.socket = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=60
        )
        self.counter = 0
        self.call("Page.enable")

    def call(self, method, **params):
        self.counter += 1
        self.socket.send(
            json.dumps({"id": self.counter, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.counter:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=60):
        """Poll a JavaScript expression until it is true."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(f"!!({expression})"):
                return
            time.sleep(0.25)
        raise RuntimeError(f"not ready after {timeout}s: {expression}")

    def goto(self, url, ready, timeout=60):
        self.call("Page.navigate", url=url)
        self.wait_for(ready, timeout)

    def open_first_record(self, url, ready):
        """Open the list at ``url``, then its first record, until ``ready``."""
        self.goto(
            url,
            "document.querySelector('.o_list_view .o_data_row') && "
            "!document.querySelector('.o_loading_indicator')",
        )
        self.evaluate("document.querySelector('.o_data_row .o_data_cell').click()")
        self.wait_for(ready)

    def screenshot(self, path):
        time.sleep(1.0)  # let animations and lazy widgets settle
        data = self.call("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


def wait_http(url, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m tests.screenshots", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    options = parser.parse_args(argv)
    port = pg.free_port()
    environment = subprocess_env()
    subprocess.run(
        ["python3", "-m", "tests.demo", "--no-serve"],
        cwd=REPO_ROOT,
        check=True,
        env=environment,
    )
    server = subprocess.Popen(
        ["python3", "-m", "tests.demo", "--port", str(port)],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    browser = None
    try:
        wait_http(f"{base}/web/login")
        browser = Browser()
        browser.goto(f"{base}/web/login", "document.querySelector('input[name=login]')")
        browser.evaluate(
            "document.querySelector('input[name=login]').value = "
            f"{json.dumps(LOGIN[0])};"
            "document.querySelector('input[name=password]').value = "
            f"{json.dumps(LOGIN[1])};"
            "document.querySelector('form').submit();"
        )
        time.sleep(2)
        options.output.mkdir(parents=True, exist_ok=True)
        for view_type, filename in VIEWS.items():
            browser.goto(
                f"{base}/odoo/action-{ACTION}?view_type={view_type}",
                f"document.querySelector('.o_{view_type}_view') && "
                "!document.querySelector('.o_loading_indicator')"
                " && document.querySelectorAll('.o_data_row, .o_kanban_record, "
                ".o_pivot_cell_value').length > 0",
            )
            if view_type != "list":
                # Beyond the list, show every status, not just the default At Risk
                # alert.
                browser.evaluate(
                    "document.querySelector('.o_searchview_facet "
                    ".o_facet_remove').click()"
                )
                browser.wait_for(
                    "!document.querySelector('.o_searchview_facet')", timeout=30
                )
            browser.screenshot(options.output / filename)
            print(f"screenshots: {options.output / filename}")
        for action, view_type, filename, ready in ANALYSIS:
            browser.goto(
                f"{base}/odoo/action-{action}?view_type={view_type}",
                f"document.querySelector('.o_{view_type}_view {ready}') && "
                "!document.querySelector('.o_loading_indicator')",
            )
            browser.screenshot(options.output / filename)
            print(f"screenshots: {options.output / filename}")
        action, filename = SUMMARY
        browser.open_first_record(
            f"{base}/odoo/action-{action}?view_type=list",
            "document.querySelector('.o_form_view .o_notebook')",
        )
        browser.evaluate(
            "[...document.querySelectorAll('.o_notebook .nav-link')]"
            ".find((tab) => tab.textContent.trim() === 'Retention').click()"
        )
        browser.wait_for(
            "document.querySelector('.tab-pane.active [name=retention_total_spent]')"
        )
        # The summary under the status: scrolled into view.
        browser.evaluate(
            "document.querySelector('.tab-pane.active [name=retention_total_spent]')"
            ".scrollIntoView({block: 'center'})"
        )
        time.sleep(1)
        browser.screenshot(options.output / filename)
        print(f"screenshots: {options.output / filename}")
        action, filename = BACKTEST
        browser.open_first_record(
            f"{base}/odoo/action-{action}?view_type=list",
            "document.querySelector('.o_form_view [name=rule_ids] .o_data_row')",
        )
        time.sleep(1)
        browser.screenshot(options.output / filename)
        print(f"screenshots: {options.output / filename}")
    finally:
        if browser:
            browser.close()
        server.terminate()
        server.wait(30)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TZ", "UTC")
    raise SystemExit(main())
