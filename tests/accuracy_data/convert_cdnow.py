"""Convert the CDNOW sample into ``cdnow.csv``: ``customer,day,amount``, one
row per customer and day with a purchase.

The source is ``lifetimes/datasets/CDNOW_sample.txt`` of the ``lifetimes``
0.11.3 wheel on PyPI (MIT licence); the package itself is not used::

    python3 -m pip download lifetimes==0.11.3 --no-deps -d /tmp/lifetimes
    cd /tmp/lifetimes && unzip -q Lifetimes-0.11.3-py3-none-any.whl
    python3 tests/accuracy_data/convert_cdnow.py \
        /tmp/lifetimes/lifetimes/datasets/CDNOW_sample.txt

The file has one line per purchase, separated by spaces: customer id,
customer index in the sample, date (YYYYMMDD), number of CDs, dollar value.
Purchases of a customer on one day are one visit; its amount is their sum.
"""

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "cdnow.csv"


def convert(path):
    """The ``customer, day, amount`` frame of the CDNOW sample file."""
    lines = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["customer", "index", "date", "cds", "dollars"],
        dtype={"customer": "int64", "date": str},
    )
    frame = pd.DataFrame(
        {
            "customer": lines["customer"],
            "day": pd.to_datetime(lines["date"], format="%Y%m%d").dt.strftime(
                "%Y-%m-%d"
            ),
            "amount": lines["dollars"],
        }
    )
    days = frame.groupby(["customer", "day"], as_index=False)["amount"].sum()
    days["amount"] = days["amount"].round(2)
    return days.sort_values(["customer", "day"], ignore_index=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="CDNOW_sample.txt of the lifetimes wheel")
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args(argv)
    days = convert(args.source)
    days.to_csv(args.output, index=False, float_format="%.2f")
    print(
        f"{args.output}: {len(days):,} customer-days of "
        f"{days['customer'].nunique():,} customers, "
        f"{days['day'].min()} to {days['day'].max()}"
    )


if __name__ == "__main__":
    main()
