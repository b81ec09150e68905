"""The sales lines of the retail sample, generated with array operations and written as CSV text directly.

Every value is a pure function of ``(seed, purpose, day, key)`` through a SplitMix64 hash, never of generator
state: any split of a day's orders into chunks writes the same lines, and the same inputs write the same bytes.
A day's lines come out in (order, line) order by construction, and its returns, numbered after its orders, follow
them, so no sort is needed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retail_etl.sample.csv_bytes import Bytes2D, constant, digits, gather, rows_text, token_table

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
ORDER_DIGITS = 7  # an order id is yyyymmdd then the order's number that day in 7 digits
OPEN_SECONDS = 46800  # 08:00 to 21:00: order numbers follow the clock, so ids and times sort alike
RETURN_DAYS = 7  # a returned line comes back 1 to 7 days after its sale

# What each uniform draw is for: part of its key, so draws for different purposes never coincide.
SEGMENT, CUSTOMER, LINES, PAIR, TIME, STORE, OTHER_STORE = 1, 2, 3, 4, 5, 6, 7
PRODUCT, QUANTITY, DISCOUNT, RETURNED, RETURN_DAY, RETURN_TIME = 8, 9, 10, 11, 12, 13

SEGMENTS = ("loyal", "new", "lapsed", "regular")
LOYAL, NEW, LAPSED, REGULAR = range(4)


def _mix_int(value: int) -> int:
    value &= _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def _mix(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finalizer, element-wise (uint64 arithmetic wraps, as the hash needs)."""
    values = values ^ (values >> np.uint64(30))
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values


def uniform(seed: int, purpose: int, day: int, keys: NDArray[Any]) -> NDArray[np.float64]:
    """A uniform double in [0, 1) per key: a pure function of (seed, purpose, day, key)."""
    stream = _mix_int(_mix_int(_mix_int(seed) + purpose) + day)
    mixed = _mix(keys.astype(np.uint64) * np.uint64(_GOLDEN) + np.uint64(stream))
    return (mixed >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


@dataclass(frozen=True)
class Shares:
    """How orders split between customer segments and their shapes (see retail.py)."""

    loyal: float
    new: float
    lapsed: float
    pairs: float
    n_pairs: int
    return_rate: float


@dataclass(frozen=True)
class StockOut:
    store_id: int
    product_id: int
    first_day: int
    last_day: int
    substitute_id: int


class ProductChoice:
    """Turns uniform draws into product indices: the product whose share of [0, 1) holds the draw.

    Exactly ``searchsorted(starts, draw, "right") - 1``, several times faster: a table of 2**16 buckets gives the
    product where each bucket starts, and a draw moves past the few shares that start inside its bucket.
    """

    BUCKETS = 1 << 16

    def __init__(self, starts: NDArray[np.float64]) -> None:
        self._starts = np.append(starts, np.inf)  # a sentinel: nothing moves past the last product
        edges = np.arange(self.BUCKETS, dtype=np.float64) / self.BUCKETS  # exact: the bucket count is a power of 2
        self._at_bucket = np.searchsorted(starts, edges, "right") - 1

    def __call__(self, draws: NDArray[np.float64]) -> NDArray[np.int64]:
        chosen = self._at_bucket[(draws * self.BUCKETS).astype(np.int64)]
        moving = np.flatnonzero(self._starts[chosen + 1] <= draws)
        while moving.size:
            chosen[moving] += 1
            moving = moving[self._starts[chosen[moving] + 1] <= draws[moving]]
        return chosen


@dataclass
class Catalogue:
    """What the sales draw from: products in id order, the planted pairs and stock-outs, and the customers."""

    product_ids: NDArray[np.int64]
    price_cents: NDArray[np.int64]
    price_text: list[str]
    popularity: NDArray[np.float64]  # relative weight of each product
    peak_doy: NDArray[np.float64]  # of each product's category
    amplitude: NDArray[np.float64]
    pairs: list[tuple[int, int]]
    stock_outs: list[StockOut]
    n_stores: int
    # Customers grouped by segment, each group in the order the segment draws from (see retail.py's seg_rank).
    segment: NDArray[np.int64]
    cid: NDArray[np.int64]
    home_store: NDArray[np.int64]
    join_day: NDArray[np.int64]
    lapse_day: NDArray[np.int64]
    # Names are composed from cid: single first names, then single, double- and triple-barrelled last names.
    first_names: Sequence[str]
    last_names: Sequence[str]
    _offsets: NDArray[np.int64] = field(init=False)
    _drawable: dict[int, NDArray[np.int64]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        counts = np.bincount(self.segment, minlength=len(SEGMENTS))
        self._offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)

    def drawable(self, day: int) -> NDArray[np.int64]:
        """Customers each segment can draw from on ``day``: new ones once joined, lapsed ones until they lapse."""
        if day not in self._drawable:
            counts = np.bincount(self.segment, minlength=len(SEGMENTS)).astype(np.int64)
            counts[NEW] = int(np.count_nonzero((self.segment == NEW) & (self.join_day <= day)))
            counts[LAPSED] = int(np.count_nonzero((self.segment == LAPSED) & (self.lapse_day >= day)))
            self._drawable[day] = counts
        return self._drawable[day]

    def product_choice(self, when: date) -> ProductChoice:
        """Products by share of the day's sales: Zipf popularity times the category's season."""
        doy = when.timetuple().tm_yday
        weights = self.popularity * (1 + self.amplitude * np.cos(2 * math.pi * (doy - self.peak_doy) / 365))
        return ProductChoice((np.cumsum(weights) - weights) / weights.sum())

    def customer_position(self, segment: NDArray[np.int64], draw: NDArray[np.float64], day: int) -> NDArray[np.int64]:
        counts = self.drawable(day)
        rank = np.floor(draw * counts[segment]).astype(np.int64)
        return self._offsets[segment] + rank


@dataclass
class Lines:
    """One chunk's lines (or a day's returns), column by column."""

    order_number: NDArray[np.int64]  # the order's number that day
    line: NDArray[np.int64]
    seconds: NDArray[np.int64]  # since the store opened
    store_id: NDArray[np.int64]
    customer: NDArray[np.int64]  # position in the catalogue's customers
    product: NDArray[np.int64]  # index into the catalogue's products
    quantity: NDArray[np.int64]  # negative on a return
    discount: NDArray[np.int64]  # 0 for none, else 1 to 4 for 5, 10, 15 or 20 % off

    def take(self, keep: NDArray[Any]) -> Lines:
        """The lines ``keep`` selects (a mask) or lists (indices), in that order."""
        return Lines(**{name: getattr(self, name)[keep] for name in self.__dataclass_fields__})

    @staticmethod
    def concatenate(parts: Sequence[Lines]) -> Lines:
        return Lines(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in Lines.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.line)


@dataclass
class _Returned:
    """Lines that come back on a later day, with the sale's order id so their ids and times can be derived."""

    return_day: int
    source_order: NDArray[np.int64]  # the full order id of the sale
    lines: Lines


class SalesWriter:
    """Writes each day's sales files; call :meth:`day_files` for day 0, 1, ... in turn (returns carry over)."""

    HEADER = "ORDER_ID,LINE_NUMBER,ORDER_TS,STORE_ID,FIRST_NAME,LAST_NAME,PRODUCT_ID,QUANTITY,UNIT_PRICE,DISCOUNT\n"
    TEXT_ROWS = 65536  # rows laid out at once: a few MB of matrix, so it stays in cache
    IN_FLIGHT = 2  # chunks drawn but not yet written

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        seed: int,
        days: int,
        shares: Shares,
        start: date,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.catalogue, self.seed, self.days, self.shares, self.start = catalogue, seed, days, shares, start
        self._pool = pool
        self._choice: ProductChoice | None = None
        self._choice_day = -1
        self._writing: deque[Future[None]] = deque()
        self._pending: list[_Returned] = []
        c = catalogue
        self._index_of = {int(product_id): index for index, product_id in enumerate(c.product_ids)}
        self._time = token_table(f"{s // 3600 + 8:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(OPEN_SECONDS))
        self._store = token_table(f"{n}," for n in range(c.n_stores + 1))
        self._names = self._names_table()
        self._sold = self._sold_table()

    def _names_table(self) -> Bytes2D:
        """``FIRST,LAST`` for every customer, by position: 32 single first names, then last names that grow
        double- and triple-barrelled as ids pass 32 x 32 and 32 x 32 x 32 (the names retail.py gives customers)."""
        c = self.catalogue
        k = c.cid - 1
        n_first, n_last = len(c.first_names), len(c.last_names)
        double, triple = n_first * n_last, n_first * n_last * n_last
        more_last = token_table(["", *(f"-{name}" for name in c.last_names)])  # 0: no further name
        return np.concatenate(
            [
                gather(token_table(f"{name}," for name in c.first_names), k % n_first),
                gather(token_table(c.last_names), k // n_first % n_last),
                gather(more_last, np.where(k >= double, 1 + k // double % n_last, 0)),
                gather(more_last, np.where(k >= triple, 1 + k // triple % n_last, 0)),
            ],
            axis=1,
        )

    def _sold_table(self) -> Bytes2D:
        """``PRODUCT_ID,QUANTITY,UNIT_PRICE,DISCOUNT`` for every (product, quantity, discount code), indexed by
        :func:`_sold_index`. The discount is rounded to the cent, half up; a return (negative quantity) gives it
        back."""
        c = self.catalogue
        product, quantity, code = (
            axis.ravel()
            for axis in np.meshgrid(
                np.arange(len(c.product_ids)),
                np.arange(-_MAX_QUANTITY, _MAX_QUANTITY + 1),
                np.arange(_DISCOUNT_CODES),
                indexing="ij",
            )
        )
        off = np.where(code > 0, (np.abs(quantity) * c.price_cents[product] * 5 * code + 50) // 100, 0)
        most_off = int(off.max())
        return np.concatenate(
            [
                gather(token_table(f"{product_id}," for product_id in c.product_ids), product),
                gather(
                    token_table(f"{n}," for n in range(-_MAX_QUANTITY, _MAX_QUANTITY + 1)), quantity + _MAX_QUANTITY
                ),
                gather(token_table(f"{price}," for price in c.price_text), product),
                gather(token_table(["", "-"]), ((quantity < 0) & (off > 0)).astype(np.int64)),
                gather(token_table(str(n) for n in range(most_off // 100 + 1)), off // 100),
                gather(token_table(f".{n:02d}" for n in range(100)), off % 100),
            ],
            axis=1,
        )

    def day_files(self, out: Path, day: int, n_orders: int, chunk_orders: int) -> list[Path]:
        """Write ``day``'s sales as one file, or several of at most ``chunk_orders`` orders each.

        The lines are drawn here; their text is built and written by the pool given at construction, at most
        :attr:`IN_FLIGHT` chunks behind, so memory holds a few chunks whatever the number of days.
        """
        when = self.start + timedelta(days=day)
        chunks = list(range(0, n_orders, chunk_orders)) or [0]
        paths = []
        for number, low in enumerate(chunks, start=1):
            high = min(n_orders, low + chunk_orders)
            # zero-padded, so the parts sort in order (returns last) by name too
            suffix = "" if len(chunks) == 1 else f"_part{number:0{len(str(len(chunks)))}d}"
            path = out / f"sales_{when.isoformat()}{suffix}.csv"
            parts = [self._orders(day, when, low, high, n_orders)]
            if high == n_orders:
                parts.append(self._returns_due(day, n_orders))
            # a failed write stops the run at the next chunk, not when its turn to be waited for comes
            while self._writing and (self._writing[0].done() or len(self._writing) >= self.IN_FLIGHT):
                self._writing.popleft().result()
            self._writing.append(self._pool.submit(self._write, path, parts, when))
            paths.append(path)
        return paths

    def _product_choice(self, day: int, when: date) -> ProductChoice:
        if self._choice_day != day:
            self._choice, self._choice_day = self.catalogue.product_choice(when), day
        assert self._choice is not None
        return self._choice

    def abandon(self) -> None:
        """Drop the writes not started yet (another part of the run failed)."""
        for future in self._writing:
            future.cancel()
        self._writing.clear()

    def finish(self) -> None:
        """Wait for the files still being written (and raise what failed)."""
        while self._writing:
            self._writing.popleft().result()

    def _write(self, path: Path, parts: list[Lines], when: date) -> None:
        with path.open("wb") as handle:
            handle.write(self.HEADER.encode())
            for part in parts:
                for text in self._text(part, when):
                    handle.write(text)

    def _orders(self, day: int, when: date, low: int, high: int, n_orders: int) -> Lines:
        c, shares, seed = self.catalogue, self.shares, self.seed
        order = np.arange(low, high, dtype=np.int64)
        drawable = c.drawable(day)
        u_segment = uniform(seed, SEGMENT, day, order)
        segment = np.full(len(order), REGULAR, dtype=np.int64)
        new_to = shares.loyal + shares.new
        lapsed_to = new_to + shares.lapsed
        segment[(u_segment >= new_to) & (u_segment < lapsed_to) & (drawable[LAPSED] > 0)] = LAPSED
        segment[(u_segment >= shares.loyal) & (u_segment < new_to) & (drawable[NEW] > 0)] = NEW
        segment[u_segment < shares.loyal] = LOYAL
        customer = c.customer_position(segment, uniform(seed, CUSTOMER, day, order), day)
        # 1 to 5 lines with weights 30/25/20/15/10; an order that starts with a planted pair has at least two
        n_lines = 1 + np.searchsorted(np.array([0.30, 0.55, 0.75, 0.90]), uniform(seed, LINES, day, order), "right")
        u_pair = uniform(seed, PAIR, day, order)
        pair = np.where(u_pair < shares.pairs, np.floor(u_pair / shares.pairs * shares.n_pairs), -1).astype(np.int64)
        n_lines = np.where(pair >= 0, np.maximum(n_lines, 2), n_lines)
        seconds = np.floor((order + uniform(seed, TIME, day, order)) / n_orders * OPEN_SECONDS).astype(np.int64)
        seconds = np.minimum(seconds, OPEN_SECONDS - 1)  # (n - 1 + u) / n can round up to 1.0
        store = np.where(
            uniform(seed, STORE, day, order) < 0.85,
            c.home_store[customer],
            1 + np.floor(uniform(seed, OTHER_STORE, day, order) * c.n_stores).astype(np.int64),
        )

        # one row per line: the order's values repeated, the line number counting from 1 within it
        of_order = np.repeat(np.arange(len(order)), n_lines)
        first_line = np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
        line = np.arange(len(of_order), dtype=np.int64) - first_line + 1
        order_of_line = order[of_order]
        key = order_of_line * 8 + line
        chosen = self._product_choice(day, when)(uniform(seed, PRODUCT, day, key))
        pair_of_line = pair[of_order]
        index_of = self._index_of
        for k, (first, second) in enumerate(c.pairs):
            chosen[(pair_of_line == k) & (line == 1)] = index_of[first]
            chosen[(pair_of_line == k) & (line == 2)] = index_of[second]
        store_of_line = store[of_order]
        for out in c.stock_outs:
            # a stocked-out product cannot sell at that store: the buyer takes the substitute instead
            if out.first_day <= day <= out.last_day:
                hit = (store_of_line == out.store_id) & (chosen == index_of[out.product_id])
                chosen[hit] = index_of[out.substitute_id]
        quantity = 1 + np.searchsorted(np.array([0.60, 0.85, 0.95]), uniform(seed, QUANTITY, day, key), "right")
        u_discount = uniform(seed, DISCOUNT, day, key)
        discount = np.where(u_discount < 0.12, 1 + np.floor(u_discount * 100 / 3), 0)  # 12 % of lines, 3 % a rate
        lines = Lines(
            order_number=order_of_line,
            line=line,
            seconds=seconds[of_order],
            store_id=store_of_line,
            customer=customer[of_order],
            product=chosen,
            quantity=quantity.astype(np.int64),
            discount=discount.astype(np.int64),
        )
        self._keep_returns(day, when, lines, segment[of_order], key)
        return lines

    def _keep_returns(self, day: int, when: date, lines: Lines, segment: NDArray[np.int64], key: Any) -> None:
        # lapsed customers never return anything, so they stay silent
        returned = (segment != LAPSED) & (uniform(self.seed, RETURNED, day, key) < self.shares.return_rate)
        back_on = day + 1 + np.floor(uniform(self.seed, RETURN_DAY, day, key) * RETURN_DAYS).astype(np.int64)
        day_id = int(when.strftime("%Y%m%d")) * 10**ORDER_DIGITS
        for later in range(day + 1, min(self.days, day + 1 + RETURN_DAYS)):
            keep = returned & (back_on == later)
            if keep.any():
                taken = lines.take(keep)
                self._pending.append(_Returned(later, day_id + taken.order_number, taken))

    def _returns_due(self, day: int, n_orders: int) -> Lines:
        """The day's returns as negative lines, numbered after its orders in the order of the sales they undo."""
        due = [r for r in self._pending if r.return_day == day]
        self._pending = [r for r in self._pending if r.return_day > day]
        if not due:
            return Lines(*(np.empty(0, dtype=np.int64) for _ in range(8)))
        source = np.concatenate([r.source_order for r in due])
        sold = Lines.concatenate([r.lines for r in due])
        ordering = np.lexsort((sold.line, source))
        source, sold = source[ordering], sold.take(ordering)
        count = len(sold)
        when_key = source * 8 + sold.line
        return Lines(
            order_number=n_orders + np.arange(count, dtype=np.int64),
            line=np.ones(count, dtype=np.int64),
            seconds=np.floor(uniform(self.seed, RETURN_TIME, 0, when_key) * OPEN_SECONDS).astype(np.int64),
            store_id=sold.store_id,
            customer=sold.customer,
            product=sold.product,
            quantity=-sold.quantity,
            discount=sold.discount,
        )

    def _text(self, lines: Lines, when: date) -> Iterator[bytes]:
        prefix = np.frombuffer(when.strftime("%Y%m%d").encode(), dtype=np.uint8)
        stamp = np.frombuffer(f",1,{when.isoformat()} ".encode(), dtype=np.uint8)  # line digit at index 1
        for low in range(0, len(lines), self.TEXT_ROWS):
            part = slice(low, low + self.TEXT_ROWS)
            rows = len(lines.line[part])
            # ORDER_ID,LINE_NUMBER,ORDER_TS, : always 15 + 1 + 1 + 1 + 19 + 1 bytes
            fixed = np.empty((rows, 38), dtype=np.uint8)
            fixed[:, :8] = prefix
            fixed[:, 8:15] = digits(lines.order_number[part], ORDER_DIGITS)
            fixed[:, 15:29] = stamp
            fixed[:, 16] = 48 + lines.line[part]
            fixed[:, 29:37] = gather(self._time, lines.seconds[part])
            fixed[:, 37] = ord(",")
            yield rows_text(
                [
                    fixed,
                    gather(self._store, lines.store_id[part]),
                    gather(self._names, lines.customer[part]),
                    constant(",", rows),
                    gather(self._sold, _sold_index(lines.product[part], lines.quantity[part], lines.discount[part])),
                    constant("\n", rows),
                ]
            )


_MAX_QUANTITY = 4
_DISCOUNT_CODES = 5  # none, or 5, 10, 15, 20 % off


def _sold_index(product: NDArray[np.int64], quantity: NDArray[np.int64], code: NDArray[np.int64]) -> NDArray[Any]:
    return (product * (2 * _MAX_QUANTITY + 1) + quantity + _MAX_QUANTITY) * _DISCOUNT_CODES + code
