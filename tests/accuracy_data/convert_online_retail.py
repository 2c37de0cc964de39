"""Convert the UCI Online Retail data set, split by day, into
``online_retail.csv``: ``customer,day,amount``, one row per customer and day
with a purchase.

The source is the copy in the public GitHub repository
databricks/Spark-The-Definitive-Guide, folder ``data/retail-data/by-day/``
(one CSV per day, 2010-12-01 to 2011-12-09, columns InvoiceNo, StockCode,
Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country). Read it
from a bare git directory of that repository (``--git-dir``, the file of
each day as committed at HEAD) or from a folder holding the day files
(``--folder``)::

    python3 tests/accuracy_data/convert_online_retail.py --git-dir PATH
    python3 tests/accuracy_data/convert_online_retail.py --folder PATH

Rules: lines without a CustomerID are dropped (nobody to follow), and so are
the cancellations (InvoiceNo starting with C); the day is the date of
InvoiceDate; the amount of a customer's day is the sum of Quantity x
UnitPrice of their lines that day, rounded to the penny. Several invoices
of a customer on one day are one visit.
"""

import argparse
import io
import subprocess
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "online_retail.csv"
FOLDER = "data/retail-data/by-day"


def day_files_from_git(git_dir, revision="HEAD"):
    """(name, text) of each day's CSV of the repository at ``revision``."""
    git = ["git", f"--git-dir={git_dir}"]
    names = subprocess.run(
        [*git, "ls-tree", "--name-only", revision, f"{FOLDER}/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in sorted(names):
        if name.endswith(".csv"):
            text = subprocess.run(
                [*git, "show", f"{revision}:{name}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            yield name, text


def day_files_from_folder(folder):
    """(name, text) of each CSV of ``folder``."""
    for path in sorted(Path(folder).glob("*.csv")):
        yield path.name, path.read_text(encoding="utf-8")


def convert(day_files):
    """The ``customer, day, amount`` frame of the day files' lines."""
    lines = pd.concat(
        [
            pd.read_csv(
                io.StringIO(text),
                dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": float},
            )
            for _name, text in day_files
        ],
        ignore_index=True,
    )
    return customer_days(lines)


def customer_days(lines):
    """Invoice lines (InvoiceNo, Quantity, InvoiceDate, UnitPrice,
    CustomerID) to one row per customer and day with a purchase."""
    kept = lines[
        lines["CustomerID"].notna()
        & ~lines["InvoiceNo"].astype(str).str.startswith("C")
    ]
    frame = pd.DataFrame(
        {
            "customer": kept["CustomerID"].astype("int64"),
            "day": pd.to_datetime(kept["InvoiceDate"]).dt.strftime("%Y-%m-%d"),
            "amount": kept["Quantity"] * kept["UnitPrice"],
        }
    )
    days = frame.groupby(["customer", "day"], as_index=False)["amount"].sum()
    days["amount"] = days["amount"].round(2)
    return days.sort_values(["customer", "day"], ignore_index=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--git-dir", help="bare git directory of the repository")
    source.add_argument("--folder", help="folder holding the day files")
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args(argv)
    if args.git_dir:
        files = day_files_from_git(args.git_dir)
    else:
        files = day_files_from_folder(args.folder)
    days = convert(files)
    days.to_csv(args.output, index=False, float_format="%.2f")
    print(
        f"{args.output}: {len(days):,} customer-days of "
        f"{days['customer'].nunique():,} customers, "
        f"{days['day'].min()} to {days['day'].max()}"
    )


if __name__ == "__main__":
    main()
