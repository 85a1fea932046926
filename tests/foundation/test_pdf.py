"""Printing PDFs leaves no memory behind (flowtrack/core/pdf.py), measured in an interpreter of its own, as the
worker that prints test reports and invoices all day long is one."""
import subprocess
import sys
import textwrap
from pathlib import Path

PRINT_MANY = textwrap.dedent("""
    import os

    from flowtrack.core import pdf
    from flowtrack.field_tests import report

    def rss_mb():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

    html = report.render_form(None, report.sample_context())
    for _ in range(5):  # what is loaded once: fonts, caches
        pdf.print_pdf(html)
    before = rss_mb()
    for _ in range(50):
        pdf.print_pdf(html)
    print(rss_mb() - before)
""")


def test_printing_many_documents_leaves_the_memory_flat():
    """Each document used to keep about 0.2 MB for good, its font configuration (with Debian 12's Pango): 50 of
    them kept 9 MB, and the RQ worker of bench/soak.py grew by 20 MB a minute."""
    grown = subprocess.run([sys.executable, "-c", PRINT_MANY], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).parents[2]).stdout
    assert float(grown) < 4, f"{float(grown):.1f} MB kept by 50 documents"
