"""The printed batch of reminder letters, for customers without an email address: one page each."""
from __future__ import annotations

import datetime as dt

from flask import render_template
from weasyprint.urls import URLFetcher

from flowtrack.core import pdf
from flowtrack.reminders.services import Letter

_NOTHING_FETCHED = URLFetcher(allowed_protocols={"data"})


def letters_pdf(company_name: str, letters: list[Letter], today: dt.date) -> bytes:
    html = render_template("reminders/letters_pdf.html", company=company_name, letters=letters, today=today)
    return pdf.print_pdf(html, url_fetcher=_NOTHING_FETCHED)
