"""Auditors filter the log, open an entry, build CSV and PDF reports; retention prunes by plan."""
import datetime as dt
import io
import re

import sqlalchemy as sa
from pypdf import PdfReader

from flowtrack.audit import services as audit
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company
from tests.factories import PEOPLE


def _record(app, tenant, action, n=1, label="field@example.com", ip="198.51.100.7", **changes):
    with app.extensions["flowtrack.db"].service() as s:
        for i in range(n):
            audit.record(s, action, entity_type="customer", entity_id=f"cust-{i}", company_id=tenant.id,
                         actor=audit.Actor(None, label, ip, "pytest"),
                         changes=audit.changes_between({"phone": "555-0100"}, {"phone": f"555-02{i:02d}"}))
        s.commit()


def test_an_auditor_filters_by_action_actor_and_ip(app, auditor, acme):
    _record(app, acme, "customer.updated", 3)
    _record(app, acme, "device.created", 2, label="other@example.com", ip="192.0.2.1")
    page = auditor.get("/audit/?action=customer.updated")
    assert page.text.count("<td>customer.updated") == 3 and "<td>device.created" not in page.text
    assert auditor.get("/audit/?actor=other@").text.count("<td>device.created") == 2
    assert auditor.get("/audit/?ip=192.0.2.1").text.count("<tr>") == 1 + 2
    assert auditor.get("/audit/?action=device").text.count("<td>device.created") == 2


def test_a_date_range_uses_the_company_time_zone(app, auditor, acme):
    _record(app, acme, "customer.updated", 1)
    today = dt.datetime.now(dt.timezone.utc).date()
    assert "<td>customer.updated" in auditor.get(f"/audit/?date_from={today - dt.timedelta(days=1)}").text
    assert "<td>customer.updated" not in auditor.get(f"/audit/?date_to={today - dt.timedelta(days=2)}").text


def test_bad_filters_get_messages_not_errors(auditor):
    page = auditor.get("/audit/?ip=not-an-ip&date_from=2026-05-02&date_to=2026-05-01")
    assert page.status_code == 422
    assert "Invalid IP address" in page.text and "before the start date" in page.text


def test_a_date_that_is_no_date_is_refused_where_the_auditor_looks_and_stays_as_typed(auditor):
    page = auditor.get("/audit/?date_from=2026-13-45")
    assert page.status_code == 422
    assert "These filters could not be used, so every entry is shown" in page.text
    assert re.search(r"<details class=\"card\" open>", page.text)  # the panel with the message is open
    assert page.text.count("Not a date: choose one from the calendar") == 1
    assert 'value="2026-13-45"' in page.text


def test_an_entry_shows_its_before_and_after(app, auditor, acme):
    _record(app, acme, "customer.updated", 1)
    with app.extensions["flowtrack.db"].service() as s:
        entry_id = s.scalars(sa.select(AuditEntry.id).where(AuditEntry.company_id == acme.id)
                             .order_by(AuditEntry.seq.desc())).first()
    panel = auditor.htmx("get", f"/audit/entries/{entry_id}")
    assert "555-0100" in panel.text and "198.51.100.7" in panel.text and "<html" not in panel.text


def _build(browser, run_worker, fmt, query=""):
    started = browser.htmx("post", f"/audit/reports{query}", data={"format": fmt, **dict(
        pair.split("=") for pair in query.lstrip("?").split("&") if pair)})
    assert started.status_code == 202, started.text
    status_url = re.search(r'hx-get="([^"]+)"', started.text).group(1)
    run_worker()
    done = browser.htmx("get", status_url)
    head = re.search(r'<code class="hash">([0-9a-f]{64})</code>', done.text).group(1)
    return browser.get(re.search(r'href="([^"]+/download)"', done.text).group(1)), head


def test_a_csv_report_states_its_filters_count_and_chain_head(app, auditor, acme, run_worker):
    _record(app, acme, "customer.updated", 4)
    response, head = _build(auditor, run_worker, "csv", "?action=customer.updated")
    text = response.data.decode()
    assert "# Filters: action: customer.updated" in text and "# Entries: 4" in text
    assert "# Chain head: #" in text and head in text
    data_lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert data_lines[0].startswith("seq,occurred_at,actor_label") and len(data_lines) == 1 + 4


def test_a_pdf_report_carries_the_entries_and_the_head_hash(app, auditor, acme, run_worker):
    _record(app, acme, "customer.updated", 5)
    response, head = _build(auditor, run_worker, "pdf")
    assert response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert head in text.replace("\n", "") and "customer.updated" in text and "field@example.com" in text


def test_basic_plans_see_an_upgrade_prompt_instead_of_reports(app, login, factory, acme):
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(Company).where(Company.id == acme.id).values(plan="basic"))
        s.commit()
    auditor = login(acme, "auditor")
    assert "Professional and Enterprise" in auditor.get("/audit/").text
    assert auditor.submit("/audit/reports", {"format": "csv"}).status_code == 403


def test_retention_prunes_by_plan_and_the_chain_still_verifies(app, factory, acme, bravo):
    factory.backdate_audit(acme, days=40)
    factory.backdate_audit(bravo, days=40)
    _record(app, acme, "customer.updated", 2)
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(Company).where(Company.id == acme.id).values(plan="basic"))
        s.execute(sa.update(Company).where(Company.id == bravo.id).values(plan="enterprise"))
        s.commit()
        now = dt.datetime.now(dt.timezone.utc)
        pruned = audit.apply_retention(s, now)
        assert pruned[acme.id] == PEOPLE + 1 and bravo.id not in pruned
        assert acme.id not in audit.apply_retention(s, now)  # running twice is running once
        result = audit.verify_chain(s, acme.id)
        assert result.ok and result.entries == 2 + 1  # the recent entries and the audit.pruned note
        assert audit.verify_chain(s, bravo.id).ok and audit.verify_chain(s, bravo.id).entries == PEOPLE + 1


def test_a_tampered_row_makes_the_viewers_verification_fail(app, auditor, acme, run_worker):
    engine = sa.create_engine(app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE audit_log SET ip = '10.9.9.9' WHERE company_id = :c AND seq = 3"), {"c": acme.id})
    engine.dispose()
    poll_url = re.search(r'hx-get="([^"]+)"', auditor.htmx("post", "/audit/verify").text).group(1)
    run_worker()
    assert "Chain broken: entry 3" in auditor.htmx("get", poll_url).text


def test_empty_date_filters_are_no_filters(auditor):
    page = auditor.get("/audit/?date_from=&date_to=&action=login")
    assert page.status_code == 200 and "These filters could not be used" not in page.text
