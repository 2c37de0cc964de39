"""Packaging of the customer_retention addon as ``odoo-addon-customer_retention``.

Follows the OCA convention (what setuptools-odoo generates): the wheel
installs the addon as the Python package ``odoo/addons/customer_retention``,
which Odoo finds through the ``odoo.addons`` namespace without any addons
path. Build with ``python3 -m pip wheel . --no-deps``.

Odoo itself is deliberately not in ``install_requires``: Odoo 18 is not
published on PyPI (install it from source, see README), so a requirement such
as ``odoo>=18.0,<18.1`` could never be satisfied and pip would refuse to
install the addon next to a perfectly good source install of Odoo.
"""

import ast
from pathlib import Path

from setuptools import find_packages, setup

ADDON = "customer_retention"
PACKAGE = f"odoo.addons.{ADDON}"
# Every non-Python file of the addon must reach the wheel, or Odoo fails at install
# (a view, a translation) or serves a 404 (an image, a font). `python3 -m
# tests.packaging` fails on any file of the addon missing from the installed package.
DATA = (
    # data, views, security, translations, descriptions
    *("xml", "csv", "po", "pot", "html", "rst", "md", "txt", "json", "xsd", "rng"),
    # web assets and fonts
    *("js", "scss", "css", "less", "sass", "woff", "woff2", "ttf", "eot", "otf"),
    # images, documents and sounds
    *("png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "pdf", "mp3", "ogg", "wav"),
)

description = Path(ADDON, "readme", "DESCRIPTION.md")
# One version: the manifest's, which Odoo compares with the installed one to
# run the migrations (see RELEASES.md).
manifest = ast.literal_eval(Path(ADDON, "__manifest__.py").read_text())

setup(
    name="odoo-addon-customer_retention",
    version=manifest["version"],
    description="Find the customers you are about to lose: cadence, status, peer rank, "
    "trend and win-back actions per customer",
    long_description=description.read_text() if description.exists() else "",
    long_description_content_type="text/markdown",
    author="customer_retention contributors",
    license="LGPL-3",
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Odoo",
        "Framework :: Odoo :: 18.0",
        "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
    ],
    python_requires=">=3.10",
    install_requires=["pandas", "phonenumbers", "scipy"],
    extras_require={"test": ["pytest>=8.1", "pytest-odoo>=2.1.3", "websocket-client"]},
    package_dir={PACKAGE: ADDON},
    packages=[PACKAGE] + [f"{PACKAGE}.{name}" for name in find_packages(ADDON)],
    package_data={PACKAGE: [f"**/*.{extension}" for extension in DATA]},
    zip_safe=False,
)
