"""HTML printed to PDF by WeasyPrint, without the memory each document otherwise leaves in the process.

WeasyPrint gives every document a font configuration of its own: a Pango font map holding a Fontconfig
configuration, with the fonts the document declares (a district's own form may bring some with `@font-face`), so
that they stay with that document. With Debian 12's Pango (1.50) a font map that is let go never releases its
Fontconfig configuration: about 0.2 MB a document, for as long as the process lives. The RQ worker printing the
test reports and invoices of `bench/soak.py` grew by 20 MB a minute. Here the font map lets go of the
configuration as soon as the document is written; over 300 reports the worker's memory stays flat, and the PDF is
the same to the byte. (One configuration kept for every document would be flat too, but the fonts of one
company's form would then reach every other company's documents.)
"""
from __future__ import annotations

from weasyprint import HTML
from weasyprint.text.ffi import ffi, pangoft2
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher


def print_pdf(html: str, *, url_fetcher: URLFetcher | None = None) -> bytes:
    fonts = FontConfiguration()
    try:
        return HTML(string=html, url_fetcher=url_fetcher).write_pdf(font_config=fonts)
    finally:
        pangoft2.pango_fc_font_map_set_config(ffi.cast("PangoFcFontMap *", fonts.font_map), ffi.NULL)
