"""Customers who agreed to texts also get a text, through a Twilio-compatible API; STOP and START work."""
import base64
import datetime as dt
import json
import threading
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa

from flowtrack.core.queue import enqueue_for_company
from flowtrack.models.customers import Customer
from flowtrack.models.notifications import NotificationLog
from flowtrack.notifications import sms
from flowtrack.reminders.tasks import remind_company
from tests.customers.test_customers import audit_entries
from tests.run_log import remember_secret

TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date()
SID, TOKEN = "AC0123456789", remember_secret("test-sms-auth-token")


class Provider(BaseHTTPRequestHandler):
    """A Twilio-compatible messages endpoint on loopback that keeps what it is sent."""

    received: list = []
    answer_status = 201

    def do_POST(self):  # noqa: N802 (the http.server name)
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).received.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                    "form": {k: v[0] for k, v in parse_qs(body).items()}})
        payload = json.dumps({"sid": f"SM{len(type(self).received):032d}"}).encode()
        self.send_response(type(self).answer_status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider(monkeypatch):
    handler = type("Handler", (Provider,), {"received": [], "answer_status": 201})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name, value in {"SMS_ACCOUNT_SID": SID, "SMS_AUTH_TOKEN": TOKEN, "SMS_FROM": "+15415550000",
                        "SMS_API_URL": f"http://127.0.0.1:{server.server_port}"}.items():
        monkeypatch.setenv(name, value)
    yield handler
    server.shutdown()


def texting_customer(records, tenant, phone="(541) 555-0142", consent=True, days=10):
    customer = records.customer(tenant, phone=phone, sms_consent=consent)
    device = records.device(tenant, records.location(tenant, customer), install_date=TODAY + dt.timedelta(days=days))
    return customer, device


def text_rows(app, tenant) -> list[NotificationLog]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(NotificationLog).where(NotificationLog.company_id == tenant.id,
                                                                     NotificationLog.channel == "sms")))


def enqueue_reminders(app, tenant, times=1):
    with app.test_request_context():
        for _ in range(times):
            enqueue_for_company(remind_company, tenant.id)


def test_a_customer_who_agreed_gets_one_text_even_when_the_run_repeats(app, acme, records, provider, run_worker):
    customer, device = texting_customer(records, acme)
    texting_customer(records, acme, phone="541-555-0199", consent=False)
    enqueue_reminders(app, acme, times=2)
    run_worker()

    assert len(provider.received) == 1
    [message] = provider.received
    assert message["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert message["auth"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert message["form"]["To"] == "+15415550142" and message["form"]["From"] == "+15415550000"
    assert "1 backflow assembly" in message["form"]["Body"] and "Reply STOP" in message["form"]["Body"]
    [row] = text_rows(app, acme)
    assert (row.device_id, row.status, row.attempts) == (device.id, "sent", 1)
    assert audit_entries(app, acme, "reminders.sent")[0].changes["texts"] == 1


def test_a_text_the_provider_refuses_is_retried_by_rq_then_shown_as_failed(
        app, acme, records, provider, run_worker, office):
    provider.answer_status = 503
    texting_customer(records, acme)
    enqueue_reminders(app, acme)
    run_worker()

    assert len(provider.received) == 3  # the first try and RQ's two retries
    [row] = text_rows(app, acme)
    assert (row.status, row.attempts, row.error) == ("failed", 3, "HTTP 503")
    assert "text: failed (HTTP 503)" in office.get("/reminders/").text


def sign(params: dict, url: str = "http://localhost/reminders/webhooks/sms") -> str:
    return sms.signature(TOKEN, url, params)


def test_stop_and_start_replies_change_texting_for_that_number_in_every_company(
        app, client, acme, bravo, records, provider):
    ours, _ = texting_customer(records, acme)
    theirs, _ = texting_customer(records, bravo, phone="541.555.0142")
    stop = {"From": "+15415550142", "To": "+15415550000", "Body": " Stop "}

    forged = client.post("/reminders/webhooks/sms", data=stop, headers={"X-Twilio-Signature": "bogus"})
    assert forged.status_code == 403
    answer = client.post("/reminders/webhooks/sms", data=stop, headers={"X-Twilio-Signature": sign(stop)})
    assert answer.status_code == 200 and answer.mimetype == "application/xml"
    with app.extensions["flowtrack.db"].service() as session:
        assert all(session.get(Customer, c.id).sms_opted_out_at for c in (ours, theirs))
    assert audit_entries(app, acme, "customer.sms_stopped") and audit_entries(app, bravo, "customer.sms_stopped")

    with app.app_context():
        remind_company(str(acme.id))
    assert text_rows(app, acme) == [] and provider.received == []

    start = {**stop, "Body": "START"}
    client.post("/reminders/webhooks/sms", data=start, headers={"X-Twilio-Signature": sign(start)})
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(Customer, ours.id).sms_opted_out_at is None
    assert audit_entries(app, acme, "customer.sms_restarted")


def test_without_an_sms_provider_nobody_is_texted(app, acme, records, client):
    texting_customer(records, acme)
    with app.app_context():
        assert remind_company(str(acme.id))["texts"] == 0
    assert text_rows(app, acme) == []
    assert client.post("/reminders/webhooks/sms", data={"Body": "STOP"}).status_code == 503


@pytest.mark.parametrize("typed, number", [("(541) 555-0142", "+15415550142"), ("1-541-555-0142", "+15415550142"),
                                           ("+1 541 555 0142 ext. 7", "+15415550142"), ("555-0142", None),
                                           ("+44 20 7946 0958", None), (None, None)])
def test_which_numbers_can_be_texted(typed, number):
    assert sms.normal_number(typed) == number


def test_the_office_records_a_customers_agreement_to_texts(app, office, acme, records):
    customer = records.customer(acme, name="Harbor Foods")
    office.submit(f"/customers/{customer.id}/edit", {"name": "Harbor Foods", "phone": "541-555-0101",
                                                     "sms_consent": "y"})
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(Customer, customer.id).sms_consent is True
    assert audit_entries(app, acme, "customer.updated")[-1].changes["sms_consent"] == {"before": False, "after": True}
