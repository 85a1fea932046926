"""CSV downloads written as they are read: rows go out in chunks of text, so a list of any length streams with
flat memory. The writer (`defusedcsv`) neutralises cells a spreadsheet would run as formulas."""
from __future__ import annotations

import io
from typing import Iterable, Iterator, Sequence

from defusedcsv import csv


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence], chunk: int = 500) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for number, row in enumerate(rows, start=1):
        writer.writerow(row)
        if number % chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
