"""CSV downloads written as they are read: rows go out in chunks of text, so a list of any length streams with
flat memory. The writer (`defusedcsv`) neutralises cells a spreadsheet would run as formulas. And the text of an
uploaded CSV file, in the encodings spreadsheets save it in."""
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


class UnreadableText(ValueError):
    """An uploaded file that is no CSV text; the message says why, for the upload form."""


def uploaded_text(data: bytes) -> str:
    """An uploaded CSV file's text: UTF-8 (with or without Excel's byte-order mark), else Windows' own encoding,
    as Excel's plain "CSV" on Windows saves it."""
    if b"\x00" in data:
        raise UnreadableText("This is not a CSV file. Save the spreadsheet as CSV and upload that.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise UnreadableText("The file's text encoding is unknown. Save it as “CSV UTF-8”.") from None
