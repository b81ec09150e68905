"""Two days of customer files, in the landing table's CSV layout, for `make demo` and the end-to-end tests.

Day 1 introduces the customers. Day 2 changes some (phone, address), adds new ones, repeats one customer twice
in the same file (the later row must win) and, in a second file from another store, carries a row that cannot
load (a country longer than the column allows), so that file is skipped and reported, as Snowpipe does.
Everything derives from the seed: the same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, replace
from pathlib import Path

HEADER = [
    "COMPANYNAME", "PHONE", "ADDRESSLINE1", "ADDRESSLINE2", "CITY", "STATE",
    "POSTALCODE", "COUNTRY", "PROVINCE", "FIRST_NAME", "LAST_NAME",
]  # fmt: skip
FIRST_NAMES = ["Ada", "Bram", "Chloé", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kofi", "Lena",
               "Mateo", "Noor", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Viktor"]  # fmt: skip
LAST_NAMES = ["Okafor", "de Vries", "Martin", "Patel", "Yılmaz",  # noqa: RUF001 - a real Turkish name: non-ASCII data on purpose "Adeyemi", "Lindqvist", "Sato", "García",
              "Müller", "Mensah", "O'Brien", "Rossi", "Haddad", "Ivanova", "Nair", "Walsh", "Costa"]  # fmt: skip
CITIES = [("Springfield", "IL", "62701", "USA"), ("Portland", "OR", "97201", "USA"), ("Austin", "TX", "73301", "USA"),
          ("Toronto", "ON", "M5H 2N2", "Canada"), ("Denver", "CO", "80202", "USA")]  # fmt: skip
STREETS = ["Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St", "Harbor Way"]


@dataclass(frozen=True)
class Customer:
    company: str
    phone: str
    address1: str
    address2: str
    city: str
    state: str
    postal_code: str
    country: str
    province: str
    first_name: str
    last_name: str

    def row(self) -> list[str]:
        return [self.company, self.phone, self.address1, self.address2, self.city, self.state, self.postal_code,
                self.country, self.province, self.first_name, self.last_name]  # fmt: skip


def _customer(rng: random.Random, first: str, last: str) -> Customer:
    city, state, postal, country = rng.choice(CITIES)
    return Customer(
        company=rng.choice(["", "Acme Retail", "Northwind", "Globex", "Initech"]),
        phone=f"+1-555-{rng.randrange(1000, 9999)}",
        address1=f"{rng.randrange(1, 999)} {rng.choice(STREETS)}",
        address2=rng.choice(["", "", f"Apt {rng.randrange(1, 40)}"]),
        city=city,
        state=state,
        postal_code=postal,
        country=country,
        province=state if country == "Canada" else "",
        first_name=first,
        last_name=last,
    )


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue()


def customer_days(seed: int = 7, customers: int = 20) -> dict[str, str]:
    """File name -> CSV text for the two days."""
    rng = random.Random(seed)
    names = sorted({(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(customers * 3)})[:customers]
    day1 = [_customer(rng, first, last) for first, last in names]
    changed = [replace(c, phone=f"+1-555-{rng.randrange(1000, 9999)}") for c in day1[:3]]
    moved = [replace(c, address1=f"{rng.randrange(1, 999)} {rng.choice(STREETS)}") for c in day1[3:5]]
    taken = {(c.first_name, c.last_name) for c in day1}
    fresh = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES if (f, last) not in taken]
    new = [_customer(rng, first, last) for first, last in rng.sample(fresh, 4)]
    # The same customer twice in one batch: the second row (later in the file) is the one SILVER keeps.
    repeated = [replace(new[0], phone="+1-555-0000"), replace(new[0], phone="+1-555-0001")]
    day2 = [*changed, *moved, *new[1:], *repeated]
    bad = [_customer(rng, "Zed", "Unloadable"), replace(day1[5], country="United States of America (mainland)")]
    return {
        "customers_2023-12-30.csv": _csv([c.row() for c in day1]),
        "customers_2023-12-31.csv": _csv([c.row() for c in day2]),
        "customers_2023-12-31_store7.csv": _csv([c.row() for c in bad]),
    }


def write_customer_days(out_dir: Path, seed: int = 7, customers: int = 20) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in customer_days(seed, customers).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
