"""Keyset pages: a list shows the rows after the last one shown (never OFFSET, which reads and drops every row
before the page), and the link to the next page carries a cursor naming that last row."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Callable, Generic, Sequence, TypeVar

Item = TypeVar("Item")
Key = TypeVar("Key")


@dataclass
class Page(Generic[Item]):
    items: list[Item]
    next_after: str | int | None  # the cursor of the last row shown; None on the last page


def paginate(rows: Sequence[Item], page_size: int, cursor_of: Callable[[Item], str | int]) -> Page[Item]:
    """A page from rows fetched with `LIMIT page_size + 1`: the one row more only tells that another page follows,
    and the cursor names the last row shown."""
    items = list(rows[:page_size])
    return Page(items, cursor_of(items[-1]) if len(rows) > page_size else None)


def cursor(sort_value, row_id: uuid.UUID) -> str:
    """'<sort value>_<row id>' for a list ordered by a date or time and then the row's id."""
    return f"{sort_value.isoformat()}_{row_id}"


def position(cursor: str | None, parse: Callable[[str], Key]) -> tuple[Key, uuid.UUID] | None:
    """The (sort value, id) a cursor names, or None for one that is not ours (then the list starts at the top)."""
    try:
        value, row_id = (cursor or "").split("_", 1)
        return parse(value), uuid.UUID(row_id)
    except ValueError:
        return None


INTEGER_MAX = 2**31 - 1  # PostgreSQL's integer
BIGINT_MAX = 2**63 - 1


def number_position(cursor: str | None, *, largest: int = INTEGER_MAX) -> int | None:
    """The number a numeric cursor names (an invoice number, an audit entry's sequence number), None for no cursor.
    ValueError for one that is not ours: not a whole number from 1 to `largest`, the most its column holds (a larger
    one would fail in the database, not in the list)."""
    if not cursor:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", cursor) or not 1 <= int(cursor) <= largest:
        raise ValueError(f"not a position: {cursor[:40]!r}")
    return int(cursor)
