"""Deterministic, realistic sales history for demos and benchmarks.

``generate(customers, orders_per_customer, seed, today)`` draws a customer
base with the behaviours the addon must tell apart (loyal, seasonal,
declining, churned, one-time, new) and their orders over three years, as
pandas frames; ``load(env, history)`` writes them into a real Odoo database
with COPY (a few seconds for 40,000 orders, minutes for ten million), never
order by order through the ORM. Rows get the columns Odoo itself would fill
for a confirmed, untaxed, single-line order in the company currency.
"""

import contextlib
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

BEHAVIOURS = {
    # name: share of customers
    "loyal": 0.30,
    "seasonal": 0.15,
    "declining": 0.15,
    "churned": 0.20,
    "one_time": 0.12,
    "new": 0.08,
}
CATEGORIES = {
    # category: (products, typical ticket)
    "Service": (["Oil change", "Brake check", "Air conditioning service"], 120.0),
    "Tyres": (["Tyre change", "Winter tyres set", "Tyre storage"], 260.0),
    "Detailing": (["Full detailing", "Ceramic coating", "Interior cleaning"], 180.0),
    "Parts": (["Brake pads", "Battery", "Wiper blades"], 90.0),
}
COUNTRIES = {
    # code: (share, mobile number as dialled nationally (X = random digit))
    "PL": (0.40, "5XX XXX XXX"),
    "UA": (0.20, "067 XXX XX XX"),
    "DE": (0.15, "0151 XXXX XXXX"),
    "CZ": (0.10, "7XX XXX XXX"),
    "US": (0.10, "(212) 5XX-XXXX"),
    "LT": (0.05, "8 6XX XXXXX"),
}
# code: six first names, and six last names below
FIRST_NAMES = {
    "PL": "Anna Piotr Katarzyna Tomasz Magdalena Krzysztof",
    "UA": "Олена Андрій Ірина Сергій Наталія Олег",
    "DE": "Lukas Anna Jonas Lea Felix Sophie",
    "CZ": "Jan Tereza Petr Lucie Martin Eva",
    "US": "John Mary James Linda Robert Susan",
    "LT": "Jonas Rūta Tomas Asta Mantas Eglė",
}
LAST_NAMES = {
    "PL": "Nowak Kowalski Wiśniewska Wójcik Kamińska Lewandowski",
    "UA": "Шевченко Коваленко Бондаренко Ткаченко Мельник Кравченко",
    "DE": "Müller Schmidt Schneider Fischer Weber Wagner",
    "CZ": "Novák Svobodová Dvořák Černá Procházka Kučerová",
    "US": "Smith Johnson Brown Miller Davis Wilson",
    "LT": "Kazlauskas Petrauskienė Jankauskas Stankevičiūtė Vasiliauskas Žukauskas",
}
HISTORY_DAYS = 3 * 365


@dataclass
class History:
    customers: (
        pd.DataFrame
    )  # key, name, country, phone, mobile, is_company, salesperson, category
    orders: pd.DataFrame  # customer, date, amount, category, product
    products: dict  # category -> [product names]
    salespeople: list  # names


def _phone(rng, country, count):
    template = COUNTRIES[country][1]
    digits = rng.integers(0, 10, size=(count, template.count("X")))
    parts = template.split("X")
    return [
        "".join(p + str(d) for p, d in zip(parts, row, strict=False)) + parts[-1]
        for row in digits
    ]


def generate(
    customers=2000,
    orders_per_customer=20.0,
    seed=42,
    today=None,
    salespeople=5,
    steady=False,
):
    """Customers and their confirmed orders; same seed and today, same data.

    ``steady``: customers arrive, fade and leave all through the three years,
    as in a business that has been running for a while, so that any past day
    looks like today (the demo, whose past the back-test replays). Without
    it, as the benchmark's data sets were built: the regular customers all
    arrive in the first year, and the decliners and leavers stop a given
    time before ``today``, so that today's statuses are known in advance but
    the past looks like no other day."""
    rng = np.random.default_rng(seed)
    today = today or date.today()
    start = today - timedelta(days=HISTORY_DAYS)
    keys = np.arange(customers)

    behaviour = rng.choice(
        list(BEHAVIOURS), size=customers, p=list(BEHAVIOURS.values())
    )
    country_codes = list(COUNTRIES)
    country = rng.choice(
        country_codes, size=customers, p=[COUNTRIES[c][0] for c in country_codes]
    )
    favourite = rng.choice(list(CATEGORIES), size=customers)
    ticket = np.array([CATEGORIES[c][1] for c in favourite]) * rng.lognormal(
        0.0, 0.45, size=customers
    )
    # Typical interval so that an average loyal customer places about
    # orders_per_customer orders in three years.
    cadence = np.clip(
        rng.lognormal(
            np.log(HISTORY_DAYS / max(orders_per_customer, 1.0)), 0.5, customers
        ),
        5,
        400,
    )

    # Each customer's active span [first, last] in days since start.
    is_ = {name: behaviour == name for name in BEHAVIOURS}
    last = np.full(customers, float(HISTORY_DAYS))
    if steady:
        # Arrivals all through the history but its last months (the new
        # customers below); leavers stop anywhere after their arrival.
        first = rng.integers(0, int(HISTORY_DAYS * 0.85), size=customers).astype(float)
        churned = is_["churned"]
        last[churned] = first[churned] + rng.uniform(0, 1, churned.sum()) * (
            HISTORY_DAYS - first[churned]
        )
    else:
        first = rng.integers(0, HISTORY_DAYS // 3, size=customers).astype(float)
        last[is_["churned"]] = HISTORY_DAYS - rng.integers(
            200, 700, size=is_["churned"].sum()
        )
    first[is_["new"]] = HISTORY_DAYS - rng.integers(5, 85, size=is_["new"].sum())
    first[is_["one_time"]] = rng.integers(0, HISTORY_DAYS, size=is_["one_time"].sum())
    last[is_["one_time"]] = first[is_["one_time"]]
    last = np.maximum(last, first)

    span = last - first
    fixed = is_["one_time"] | is_["seasonal"] | is_["new"]
    expected = np.ones(customers, dtype=int)
    expected[is_["seasonal"]] = np.maximum(
        2, (span[is_["seasonal"]] // 182).astype(int) + 1
    )
    expected[is_["new"]] = rng.integers(1, 4, size=is_["new"].sum())
    # Scale the rhythms of the others so that the whole base averages
    # orders_per_customer orders.
    wanted = orders_per_customer * customers - expected[fixed].sum() - (~fixed).sum()
    natural = (span / cadence)[~fixed].sum()
    if wanted > 0 and natural > 0:
        cadence[~fixed] = np.clip(cadence[~fixed] * natural / wanted, 2, None)
    # Decliners slow down and stop: steady, anywhere after their arrival
    # (beyond the history's end for about a quarter, still fading); else
    # 1.6 to 3.5 of their rhythm ago.
    declining = is_["declining"]
    if steady:
        stop = first[declining] + rng.uniform(0, 1.3, declining.sum()) * (
            HISTORY_DAYS - first[declining]
        )
    else:
        stop = HISTORY_DAYS - cadence[declining] * rng.uniform(
            1.6, 3.5, declining.sum()
        )
    last[declining] = np.clip(stop, first[declining], HISTORY_DAYS)
    span = last - first
    expected[~fixed] = np.round(span[~fixed] / cadence[~fixed]).astype(int) + 1
    owner = np.repeat(keys, expected)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(expected) - expected, expected)
    n = expected[owner]
    # Spread orders over the span with jitter around the rhythm.
    position = np.where(n > 1, rank / np.maximum(n - 1, 1), 0.0)
    day = (
        first[owner]
        + position * span[owner]
        + rng.normal(0, 0.15, len(owner)) * cadence[owner] * (n > 1)
    )
    seasonal = is_["seasonal"][owner]
    # Seasonal customers change tyres in April and October.
    season_day = (
        (rank // 2) * 365
        + np.where(rank % 2 == 0, 100, 285)
        + rng.normal(0, 7, len(owner))
    )
    day = np.where(seasonal, season_day, day)
    day = np.clip(np.round(day), 0, HISTORY_DAYS).astype(int)
    keep = ~(seasonal & (day > last[owner]))
    owner, day = owner[keep], day[keep]
    # Decliners spend less and less.
    fade = np.where(
        is_["declining"][owner],
        1.0 - 0.6 * (day - first[owner]) / np.maximum(span[owner], 1),
        1.0,
    )
    amount = np.round(ticket[owner] * fade * rng.lognormal(0.0, 0.25, len(owner)), 2)
    category = np.where(
        rng.random(len(owner)) < 0.75,
        favourite[owner],
        rng.choice(list(CATEGORIES), len(owner)),
    )
    category = np.where(seasonal, "Tyres", category)
    product_index = rng.integers(0, 3, len(owner))

    orders = pd.DataFrame(
        {
            "customer": owner,
            "date": pd.to_datetime(start) + pd.to_timedelta(day, unit="D"),
            "amount": np.maximum(amount, 1.0),
            "category": category,
            "product": [
                CATEGORIES[c][0][i]
                for c, i in zip(category, product_index, strict=False)
            ],
        }
    ).sort_values(["date", "customer"], kind="stable", ignore_index=True)

    first_names = {c: names.split() for c, names in FIRST_NAMES.items()}
    last_names = {c: names.split() for c, names in LAST_NAMES.items()}
    pick = rng.integers(0, 6, size=(customers, 2))
    is_company = rng.random(customers) < 0.15
    names = [
        f"{last_names[c][a]} {'Fleet' if comp else first_names[c][b]}"
        + (" Sp. z o.o." if comp and c == "PL" else "")
        for c, a, b, comp in zip(
            country, pick[:, 0], pick[:, 1], is_company, strict=False
        )
    ]
    names = [f"{name} #{key + 1}" for name, key in zip(names, keys, strict=False)]
    phones = np.array([None] * customers, dtype=object)
    for code in COUNTRIES:
        mask = country == code
        phones[mask] = _phone(rng, code, int(mask.sum()))
    has_phone = rng.random(customers) < 0.85
    mobile = np.where(has_phone, phones, None)
    invalid = rng.random(customers) < 0.02
    mobile = np.where(invalid & has_phone, "12", mobile)
    customers_frame = pd.DataFrame(
        {
            "key": keys,
            "name": names,
            "country": country,
            "mobile": mobile,
            "is_company": is_company,
            "salesperson": rng.integers(0, salespeople, size=customers),
            "behaviour": behaviour,
        }
    )
    return History(
        customers=customers_frame,
        orders=orders,
        products={c: list(p) for c, (p, _t) in CATEGORIES.items()},
        salespeople=[f"Sales Rep {i + 1}" for i in range(salespeople)],
    )


# Service rhythms of the regular customers (days): every two weeks to every
# six months, as a hairdresser, a car wash, a pet groomer or a garage sees them.
SERVICE_RHYTHMS = (14, 21, 28, 35, 42, 56, 70, 91, 120, 182)


@dataclass
class Services:
    """A history of regular service customers and the truth behind it.

    ``orders``: customer, date, amount, one row per visit up to ``today``.
    ``customers``: key, rhythm_days (the customer's usual interval),
    first_visit, and stopped_on: the day of the customer's last visit ever
    when they stop for good before ``today`` + ``FOLLOWED_AFTER_DAYS``, else
    NaT (still a customer). A customer has left as of a day when
    ``stopped_on`` is on or before it: they never come again."""

    customers: pd.DataFrame
    orders: pd.DataFrame


# Visits are drawn this long past today, so that ``stopped_on`` tells who
# stops soon after it from who stays.
FOLLOWED_AFTER_DAYS = 2 * 365


def generate_services(
    customers=3000,
    seed=7,
    today=None,
    years=3,
    mean_life_years=4.0,
    jitter=0.08,
    skip=0.04,
):
    """Regular customers of a service business: each comes every
    ``rhythm_days`` (one of :data:`SERVICE_RHYTHMS`, give or take 10 %),
    each interval off by ``jitter`` x the rhythm (normal) and now and then
    (``skip``) a visit missed, so one interval twice as long. They arrive all
    through the ``years`` before ``today`` and stop for good after a
    lifetime drawn from an exponential law of mean ``mean_life_years``: the
    last visit before its end is their last ever. Same arguments, same data;
    :func:`generate` is not affected."""
    rng = np.random.default_rng(seed)
    today = pd.Timestamp(today or date.today()).normalize()
    history = int(years * 365)
    end = history + FOLLOWED_AFTER_DAYS
    rhythm = rng.choice(SERVICE_RHYTHMS, size=customers) * rng.uniform(
        0.9, 1.1, customers
    )
    first = rng.integers(0, history, size=customers).astype(float)
    life_end = first + rng.exponential(mean_life_years * 365, size=customers)
    ticket = rng.lognormal(np.log(60.0), 0.5, size=customers)
    # Enough intervals for the longest span at the shortest gap.
    steps = int(np.ceil(end / (min(SERVICE_RHYTHMS) * 0.9 * 0.5))) + 1
    gaps = rhythm[:, None] * np.maximum(
        1.0 + rng.normal(0.0, jitter, size=(customers, steps)), 0.5
    )
    gaps *= np.where(rng.random((customers, steps)) < skip, 2.0, 1.0)
    gaps[:, 0] = 0.0
    day = np.round(first[:, None] + np.cumsum(gaps, axis=1))
    alive = (day <= np.minimum(life_end, end)[:, None]) & (day <= end)
    owner, step = np.nonzero(alive)
    visit_day = day[owner, step].astype(int)
    last_ever = np.full(customers, -1)
    np.maximum.at(last_ever, owner, visit_day)
    stops = life_end < end
    stopped_on = pd.Series(
        today + pd.to_timedelta(np.where(stops, last_ever - history, 0), unit="D"),
    ).where(stops)
    seen = visit_day <= history
    owner, visit_day = owner[seen], visit_day[seen]
    amount = np.round(ticket[owner] * rng.lognormal(0.0, 0.2, len(owner)), 2)
    start = today - pd.Timedelta(days=history)
    orders = pd.DataFrame(
        {
            "customer": owner,
            "date": start + pd.to_timedelta(visit_day, unit="D"),
            "amount": np.maximum(amount, 1.0),
        }
    ).sort_values(["date", "customer"], kind="stable", ignore_index=True)
    customers_frame = pd.DataFrame(
        {
            "key": np.arange(customers),
            "rhythm_days": rhythm,
            "first_visit": start + pd.to_timedelta(first, unit="D"),
            "stopped_on": stopped_on,
        }
    )
    return Services(customers=customers_frame, orders=orders)


def _copy(cr, table, frame):
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    cr.copy_expert(
        f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
    )


def _reserve_ids(cr, table, count):
    """Take ``count`` ids from the table's sequence in one statement."""
    cr.execute(f"SELECT nextval('{table}_id_seq') FROM generate_series(1, %s)", [count])
    return np.array([row[0] for row in cr.fetchall()], dtype=np.int64)


def _masters(env, history):
    """The few master records (users, categories, products) go through the
    ORM: there are a handful of them and they must be complete Odoo records."""
    company = env.company
    group = env.ref("sales_team.group_sale_salesman")
    users = env["res.users"]
    for name in history.salespeople:
        login = name.lower().replace(" ", "")
        user = users.search([("login", "=", login)])
        users |= user or users.create(
            {
                "name": name,
                "login": login,
                "password": login,
                "groups_id": [(6, 0, [group.id, env.ref("base.group_user").id])],
                "company_id": company.id,
                "company_ids": [(6, 0, [company.id])],
            }
        )
    products = {}
    for category_name, product_names in history.products.items():
        category = env["product.category"].search(
            [("name", "=", category_name)], limit=1
        ) or env["product.category"].create({"name": category_name})
        for product_name in product_names:
            product = env["product.product"].search(
                [("name", "=", product_name)], limit=1
            ) or env["product.product"].create(
                {
                    "name": product_name,
                    "type": "service",
                    "categ_id": category.id,
                    "list_price": 100.0,
                }
            )
            products[product_name] = product
    countries = {code: env.ref(f"base.{code.lower()}").id for code in COUNTRIES}
    return users, products, countries


def _insert_orders(env, partner, date, amount, product, user, written_now=False):
    """Confirmed single-line orders in the company currency, untaxed, last
    written when they were placed (or now: ``written_now``)."""
    cr = env.cr
    company = env.company
    currency_id = company.currency_id.id
    team = env["crm.team"].search([("company_id", "in", [company.id, False])], limit=1)
    now = datetime.now().replace(microsecond=0)
    order_ids = _reserve_ids(cr, "sale_order", len(partner))
    line_ids = _reserve_ids(cr, "sale_order_line", len(partner))
    date_order = pd.to_datetime(pd.Series(date)).reset_index(drop=True) + pd.Timedelta(
        hours=10
    )
    common = {
        "create_uid": env.uid,
        "write_uid": env.uid,
        # Written when placed, like a real history: the hourly job looks for
        # orders written since its last run.
        "create_date": date_order,
        "write_date": now if written_now else date_order,
        "company_id": company.id,
        "currency_id": currency_id,
    }
    _copy(
        cr,
        "sale_order",
        pd.DataFrame(
            {
                "id": order_ids,
                "name": [f"SD{i:08d}" for i in order_ids],
                "partner_id": partner,
                "partner_invoice_id": partner,
                "partner_shipping_id": partner,
                "currency_rate": 1.0,
                "date_order": date_order,
                "state": "sale",
                "invoice_status": "no",
                "locked": False,
                "user_id": user,
                "team_id": team.id or None,
                "amount_untaxed": amount,
                "amount_tax": 0.0,
                "amount_total": amount,
                "require_signature": False,
                "require_payment": False,
                "prepayment_percent": 1.0,
                **common,
            }
        ),
    )
    _copy(
        cr,
        "sale_order_line",
        pd.DataFrame(
            {
                "id": line_ids,
                "order_id": order_ids,
                "sequence": 10,
                "name": "Service",
                "product_id": product,
                "product_uom": env.ref("uom.product_uom_unit").id,
                "product_uom_qty": 1.0,
                "price_unit": amount,
                "technical_price_unit": amount,
                "discount": 0.0,
                "price_subtotal": amount,
                "price_tax": 0.0,
                "price_total": amount,
                "price_reduce_taxexcl": amount,
                "price_reduce_taxinc": amount,
                "customer_lead": 0.0,
                "qty_delivered": 1.0,
                "qty_invoiced": 0.0,
                "qty_to_invoice": 1.0,
                "qty_delivered_method": "manual",
                "invoice_status": "to invoice",
                "state": "sale",
                "untaxed_amount_invoiced": 0.0,
                "untaxed_amount_to_invoice": amount,
                "order_partner_id": partner,
                "salesman_id": user,
                "is_downpayment": False,
                "is_expense": False,
                **common,
            }
        ),
    )
    return order_ids


def load_orders(env, partner_ids, day, amounts):
    """New confirmed orders on ``day``, one per partner (benchmarks use it
    to measure the incremental recompute)."""
    product = env["product.product"].search([("sale_ok", "=", True)], limit=1)
    count = len(partner_ids)
    order_ids = _insert_orders(
        env,
        np.asarray(partner_ids),
        [pd.Timestamp(day)] * count,
        np.round(np.asarray(amounts), 2),
        np.full(count, product.id),
        None,
        written_now=True,
    )
    env.invalidate_all()
    return order_ids


@contextlib.contextmanager
def bulk_load(cr, tables):
    """Load ``tables`` the way a restore does: without their secondary
    indexes and foreign-key triggers during the COPY, the indexes rebuilt
    in one pass each at the end. Row by row, their 60 indexes and a dozen
    foreign-key checks per row made loading L take hours. The generator's
    rows reference existing records only, so nothing needs checking."""
    cr.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
          JOIN pg_class c ON c.relname = i.indexname
         WHERE i.tablename = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
        """,
        [list(tables)],
    )
    indexes = cr.fetchall()
    for name, _definition in indexes:
        cr.execute(f'DROP INDEX "{name}"')
    for table in tables:
        cr.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER ALL')
    yield
    for table in tables:
        cr.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER ALL')
    cr.execute("SET maintenance_work_mem = '1GB'")
    for _name, definition in indexes:
        cr.execute(definition)
    cr.execute("RESET maintenance_work_mem")


def load(env, history, batch=200_000):
    """Write the history as partners, confirmed orders and order lines of the
    current company; returns the new partner ids in customer-key order."""
    cr = env.cr
    users, products, countries = _masters(env, history)
    now = datetime.now().replace(microsecond=0)
    customers = history.customers
    partner_ids = _reserve_ids(cr, "res_partner", len(customers))
    partners = pd.DataFrame(
        {
            "id": partner_ids,
            "name": customers["name"],
            "complete_name": customers["name"],
            "commercial_partner_id": partner_ids,
            "type": "contact",
            "active": True,
            "is_company": customers["is_company"],
            "country_id": customers["country"].map(countries),
            "mobile": customers["mobile"],
            "lang": "en_US",
            "user_id": users.ids
            and customers["salesperson"].map(dict(enumerate(users.ids))),
            "customer_rank": 1,
            "supplier_rank": 0,
            "autopost_bills": "ask",
            "partner_share": True,
            "create_date": now,
            "write_date": now,
            "create_uid": env.uid,
            "write_uid": env.uid,
        }
    )
    orders = history.orders
    salesperson = customers["salesperson"].to_numpy()[orders["customer"].to_numpy()]
    with bulk_load(cr, ["res_partner", "sale_order", "sale_order_line"]):
        _copy(cr, "res_partner", partners)
        _load_orders(env, orders, partner_ids, products, users, salesperson, batch)
    env.invalidate_all()
    return partner_ids


def _load_orders(env, orders, partner_ids, products, users, salesperson, batch):
    for start in range(0, len(orders), batch):
        chunk = orders.iloc[start : start + batch]
        _insert_orders(
            env,
            partner_ids[chunk["customer"].to_numpy()],
            chunk["date"],
            chunk["amount"].to_numpy(),
            chunk["product"]
            .map({name: p.id for name, p in products.items()})
            .to_numpy(),
            np.array(users.ids)[salesperson[start : start + batch]] if users else None,
        )
