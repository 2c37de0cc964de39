"""Check what a run needs before spending a minute on it.

Each check returns a problem (what is missing and how to get it) or None;
:func:`problems` runs the ones asked for. Missing browser pieces matter
most: Odoo *skips* browser tests without Chrome or websocket-client and
still exits 0, so we refuse to start instead.
"""

import importlib.util
import shutil

from .odoo_env import ODOO_SERIES

SETUP_HINT = (
    "run `bash .ci/setup` (or `python3 -m pip install -r requirements.txt` and "
    "`python3 -m pip install --no-deps -r requirements-addons.txt`)"
)
BROWSERS = (
    "google-chrome",
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
)  # Odoo's search order


def odoo():
    try:
        from odoo import release
    except ImportError as error:
        return (
            f"cannot import odoo ({error}). Odoo 18 is not on PyPI: "
            "install it from source "
            "(see README, 'Installing Odoo 18') so that `python3 -c 'import odoo'` "
            "works, "
            "e.g. a .pth file pointing at the checkout"
        )
    if tuple(release.version_info[:2]) != ODOO_SERIES:
        return f"this addon needs Odoo 18.0; `import odoo` found {release.version}"
    return None


def python_module(module, package=None):
    # find_spec, not import: pytest_odoo imports odoo, whose absence is reported
    # on its own
    if importlib.util.find_spec(module) is None:
        return f"Python package {package or module} is missing: {SETUP_HINT}"
    return None


def browser():
    if not any(shutil.which(name) for name in BROWSERS):
        return (
            "no Chrome/Chromium on PATH (looked for "
            + ", ".join(BROWSERS)
            + "): Odoo would "
            "silently skip the browser tests. Install it: apt-get install -y chromium "
            "(or run `bash .ci/setup`)"
        )
    return None


CHECKS = {
    "odoo": odoo,
    "pandas": lambda: python_module("pandas"),
    "phonenumbers": lambda: python_module("phonenumbers"),
    "pytest": lambda: python_module("pytest"),
    "pytest-odoo": lambda: python_module("pytest_odoo", "pytest-odoo"),
    "websocket-client": lambda: python_module("websocket", "websocket-client"),
    "browser": browser,
    "scipy": lambda: python_module("scipy"),
    # read by the second pass of tests/run.py (requirements-addons.txt)
    "partner_contact_gender": lambda: python_module(
        "odoo.addons.partner_contact_gender", "odoo-addon-partner_contact_gender"
    ),
    "partner_contact_birthdate": lambda: python_module(
        "odoo.addons.partner_contact_birthdate", "odoo-addon-partner_contact_birthdate"
    ),
}


def problems(names=tuple(CHECKS)):
    found = []
    for name in names:
        problem = CHECKS[name]()
        if problem:
            found.append(problem)
    return found
