"""Soak: 20 people of two companies at work for 10 minutes, over HTTP on loopback, against gunicorn with the RQ
worker and cron running.

    python bench/soak.py [--minutes 10] [--max-requests 200000] [--workers 2] [--think 1.0] [--customers 2000]

Each company (seeded once with `fill_records`: customers, places, devices, four years of tests, work orders and
invoices; the database is instance-bench-soak/'s own) has a team of ten, each signed in with a session of their
own: an admin, three office staff (managers), five technicians and an auditor. They do what their day holds, mostly
reading (dashboard, customers and search, devices, the due list, the week board, My day, invoices, the audit log) and
writing through the product's pages, with the CSRF token of the page: the office adds customers, places and
devices, plans work orders and books them for today, invoices the finished work, sends invoices and records
payments, picking its work from the top of the lists everyone sees, now and then with a double click; technicians
take today's jobs from My day, start them, test each device and complete them, from a phone's outbox (an answer
lost and the record sent again, sometimes twice at the same moment) or, on a phone without scripts, by the forms;
the auditor reads the log, verifies the chain and downloads a CSV of the day. The worker prints the test reports and
invoices and mails them to a loopback SMTP sink.

Then it checks that every write answered as done is in the database exactly once, with its audit entry exactly
once, and that what invoices say was paid is what their payments add up to; that both companies' audit chains
verify; that no request got a 5xx and no 4xx came that the person could not expect; that PostgreSQL counted no
deadlock and no session is left waiting on a lock or idle in a transaction; that the queue drained with no failed
job; and that memory is flat: no web process or worker grew by more than a tenth after the warm-up. Prints the
requests, requests/s, p50/p95/p99 latency (all and by page), the refusals, the writes checked, and the RSS of each
process after the warm-up, each minute, and at the end. Exits 1 if any check fails.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("FLOWTRACK_INSTANCE_PATH", str(Path(__file__).resolve().parent.parent / "instance-bench-soak"))

import argparse
import base64
import collections
import dataclasses
import datetime as dt
import decimal
import io
import json
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid

import requests
from _common import ROOT, bench_app
from pages import _free_port, _serve

COMPANIES = (("Soak Co A (benchmark)", "soak-a.bench", "America/Los_Angeles"),
             ("Soak Co B (benchmark)", "soak-b.bench", "America/Denver"))
TEAM = (("company_admin", 1), ("manager", 3), ("technician", 5), ("auditor", 1))  # ten a company


@dataclasses.dataclass
class Member:
    user_id: uuid.UUID
    email: str
    role: str


def seed_companies(app, customers: int) -> list[tuple[uuid.UUID, str, list[Member]]]:
    """The two companies with their teams and records (each part written once; see seed_large.fill_records)."""
    import sqlalchemy as sa

    from flowtrack.auth.services import add_member
    from flowtrack.companies.services import create_company
    from flowtrack.models.accounts import Profile, User
    from flowtrack.models.companies import Company
    from flowtrack.ops.seed_large import fill_records

    db = app.extensions["flowtrack.db"]
    companies = []
    for name, domain, timezone in COMPANIES:
        with db.service() as session:
            company_id = session.scalar(sa.select(Company.id).where(Company.name == name))
            if company_id is None:
                company_id = create_company(session, name, timezone=timezone).id
                for role, count in TEAM:
                    for n in range(count):
                        add_member(session, company_id, email=f"{role}{n}@{domain}", password=None, role=role,
                                   full_name=f"{role.replace('_', ' ').title()} {n}")
                session.commit()
        if fill_records(db, company_id, customers=customers):
            _analyze(app)
        with db.service() as session:
            team = [Member(user_id, email, role) for user_id, email, role in session.execute(
                sa.select(User.id, User.email, Profile.role).join(Profile, Profile.user_id == User.id)
                .where(User.company_id == company_id).order_by(User.email))]
        companies.append((company_id, domain, team))
    return companies


def _analyze(app) -> None:
    """Statistics for the rows COPY just wrote, so that the first minutes are not planned on empty tables."""
    import sqlalchemy as sa

    engine = sa.create_engine(app.extensions["flowtrack.settings"].database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()


def session_cookie(app, company_id: uuid.UUID, user_id: uuid.UUID) -> tuple[str, str]:
    """A signed-in browser's cookie, as a sign-in makes it (a server-side session row, its token in the cookie)."""
    from flowtrack.auth.services import SessionPolicy, new_session

    db = app.extensions["flowtrack.db"]
    with db.service() as session:
        row, token = new_session(company_id, user_id, SessionPolicy(dt.timedelta(hours=2), dt.timedelta(hours=2)),
                                 ip="127.0.0.1", user_agent="bench/soak.py")
        session.add(row)
        session.commit()
    value = app.session_interface.get_signing_serializer(app).dumps({"sid": token})
    return app.config["SESSION_COOKIE_NAME"], value


# --- what the people do over HTTP ---------------------------------------------------------------------------

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# How often each of a role's actions comes up, relative to its others.
OFFICE_ACTIONS = {"dashboard": 8, "customers": 8, "search_customers": 6, "devices": 5, "search_devices": 3, "due": 5,
                  "board": 6, "work_orders": 4, "invoices": 5, "aging": 2,
                  "add_customer": 5, "plan_work": 6, "book": 8, "invoice_work": 5, "send_invoice": 4, "pay": 3}
TECHNICIAN_ACTIONS = {"my_day": 8, "tomorrow": 1, "tests": 2, "work": 16}
ADMIN_ACTIONS = {"dashboard": 8, "board": 3, "work_orders": 2, "invoices": 3, "aging": 2, "customers": 2,
                 "team": 2, "audit": 2}
AUDITOR_ACTIONS = {"audit": 10, "audit_filtered": 6, "audit_entry": 4, "verify_chain": 1, "audit_report": 1}
SEARCHES = ("Harbor", "Summit", "Cas", "Ever", "Pio", "Gold", "Soak", "Valley", "Re", "U")
# Phones with scripts send through the outbox; a phone that never got the answer sends the same record again, and
# now and then the page and the service worker send it at the same moment.
RESEND, RESEND_AT_ONCE = 0.10, 0.05
# A button pressed twice sends its form twice at the same moment.
DOUBLE_CLICK = 0.05
# Memory is flat when no process grows by more than this share of its RSS after the warm-up. (A worker that kept
# 0.2 MB of every PDF it printed grew by 45% in five minutes.)
MEMORY_GROWTH = 0.10


class Stop(Exception):
    """The run's time or request budget is spent."""


class Budget:
    def __init__(self, seconds: float, max_requests: int):
        self.ends = time.monotonic() + seconds
        self.left = max_requests
        self.lock = threading.Lock()

    def take(self) -> None:
        with self.lock:
            if self.left <= 0 or time.monotonic() >= self.ends:
                raise Stop
            self.left -= 1

    def remaining(self) -> float:
        return self.ends - time.monotonic()


class Tally:
    """Every response: its latency by page, its status; 5xx and transport errors, unexpected 4xx, refusals."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seconds: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: collections.Counter = collections.Counter()
        self.errors: list[str] = []        # 5xx and requests that got no answer
        self.unexpected: list[str] = []    # 4xx nobody could have expected
        self.refusals: collections.Counter = collections.Counter()  # expected: a colleague got there first, ...
        self.problems: list[str] = []      # anything else that went wrong (a broken chain seen by the auditor)

    def response(self, label: str, status: int, seconds: float, expected: bool, detail: str) -> None:
        with self.lock:
            self.seconds[label].append(seconds)
            self.statuses[status] += 1
            if status >= 500:
                self.errors.append(f"{status} {label}: {detail}")
            elif status >= 400 and not expected:
                self.unexpected.append(f"{status} {label}: {detail}")
            elif status >= 400:
                self.refusals[f"{status} {label}"] += 1

    def failure(self, label: str, detail: str) -> None:
        with self.lock:
            self.errors.append(f"no answer {label}: {detail}")

    def refused(self, what: str) -> None:
        with self.lock:
            self.refusals[what] += 1

    def problem(self, what: str) -> None:
        with self.lock:
            self.problems.append(what)


@dataclasses.dataclass(frozen=True)
class Write:
    """A write answered as done: `key` finds it (a name, serial or note the simulation gave it, or a row's id)."""
    kind: str
    company: uuid.UUID
    key: str


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.writes: list[Write] = []

    def add(self, kind: str, company: uuid.UUID, key: str) -> None:
        with self.lock:
            self.writes.append(Write(kind, company, str(key)))


@dataclasses.dataclass
class Firm:
    """A company's places where work can be planned (some of the seeded ones, then those added), and the
    markers that make what its people write findable."""
    id: uuid.UUID
    tag: str
    run: str
    places: list[str]
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    serial: int = 0

    def marker(self, what: str) -> str:
        with self.lock:
            self.serial += 1
            return f"soak-{self.run}-{self.tag}-{what}-{self.serial:05d}"

    def pick_place(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.places) if self.places else None

    def add_place(self, place: str) -> None:
        with self.lock:
            self.places.append(place)

    def drop_place(self, place: str) -> None:
        with self.lock:
            if place in self.places:
                self.places.remove(place)


def _label(method: str, path: str) -> str:
    """The page, not the record: ids become <id>, and a query keeps only its parameter names."""
    route, _, query = path.partition("?")
    route = re.sub(UUID, "<id>", route)
    names = sorted({pair.split("=")[0] for pair in query.split("&") if pair})
    return f"{method} {route}" + (f"?{'&'.join(names)}" if names else "")


def _meta_csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def _tags(html: str, name: str) -> list[dict[str, str]]:
    """The attributes of each form control named `name` (inputs and options of a select)."""
    found = []
    select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    if select:
        found += [dict(re.findall(r'([\w-]+)(?:="([^"]*)")?', tag))
                  for tag in re.findall(r"<option[^>]*>", select.group(1))]
    found += [dict(re.findall(r'([\w-]+)(?:="([^"]*)")?', tag))
              for tag in re.findall(r"<input[^>]*>", html) if f'name="{name}"' in tag]
    return found


def _value(html: str, name: str) -> str:
    """What the page has chosen or filled in for a field."""
    tags = _tags(html, name)
    chosen = [t for t in tags if "selected" in t or "checked" in t] or tags
    return chosen[0].get("value", "") if chosen else ""


def _flash_ok(html: str) -> bool:
    return 'class="flash flash-success"' in html


def _flash_error(response) -> str:
    """The reason a page gives for a refusal, its numbers left out (so that the same reason counts once)."""
    found = re.search(r'class="flash flash-error">(.*?)</p>', response.text if response is not None else "", re.S)
    return re.sub(r"\d+", "#", found.group(1)) if found else "no reason shown"


def _readings(kind: str, result: str, rng: random.Random) -> dict[str, str]:
    """Gauge readings of an assembly that the rules judge `result` ("pass" or "fail")."""
    from flowtrack.field_tests import rules

    while True:
        readings = {key: f"{rng.uniform(0.5, 12):.1f}" if rules.is_psid(key) else rng.choice(("yes",) * 9 + ("no",))
                    for key in rules.required_readings(kind)}
        if rules.evaluate(kind, readings).result == result:
            return readings


def _signature() -> str:
    """What the signature pad sends: a transparent PNG with a stroke."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (600, 160), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 120), (200, 30), (570, 110)], fill="black", width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


SIGNATURE = _signature()


class Person(threading.Thread):
    """One signed-in person: a browser session of their own, doing their role's actions one after another with a
    pause between them, until the budget is spent."""

    def __init__(self, member: Member, firm: Firm, cookie: tuple[str, str], base: str, *, budget: Budget,
                 tally: Tally, ledger: Ledger, think: float, seed: str, phone: bool = True):
        super().__init__(name=member.email, daemon=True)
        self.firm, self.base = firm, base
        self.budget, self.tally, self.ledger, self.think = budget, tally, ledger, think
        self.rng = random.Random(seed)
        self.phone = phone  # a technician's phone with scripts (the outbox) or without (plain forms)
        self.http = requests.Session()
        self.http.cookies.set(*cookie, domain="127.0.0.1", path="/")
        self.actions = {"manager": OFFICE_ACTIONS, "technician": TECHNICIAN_ACTIONS, "company_admin": ADMIN_ACTIONS,
                        "auditor": AUDITOR_ACTIONS}[member.role]

    def run(self) -> None:
        names, weights = list(self.actions), list(self.actions.values())
        try:
            while True:
                getattr(self, self.rng.choices(names, weights)[0])()
                pause = self.rng.uniform(0, 2 * self.think)
                if pause >= self.budget.remaining():
                    raise Stop
                time.sleep(pause)
        except Stop:
            pass
        except Exception as error:  # the simulation's own fault: reported, never hidden
            self.tally.problem(f"{self.name} stopped: {error!r}")

    # --- HTTP ---

    def request(self, method: str, path: str, *, expect: tuple[int, ...] = (), **kwargs):
        """One request, timed and counted; None when no answer came."""
        self.budget.take()
        label = _label(method, path)
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.base + path, allow_redirects=False, timeout=120, **kwargs)
        except requests.RequestException as error:
            self.tally.failure(label, repr(error))
            return None
        seconds = time.perf_counter() - started
        detail = f"{path} {response.text[:300]!r}" if response.status_code >= 400 else path
        self.tally.response(label, response.status_code, seconds, response.status_code in expect, detail)
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs):
        return self.request("POST", path, data=data, **kwargs)

    def submit(self, page, path: str, data: dict, **kwargs):
        """POST a form with the CSRF token of the page it is on."""
        return self.post(path, {"csrf_token": _meta_csrf(page.text), **data}, **kwargs)

    def click(self, page, path: str, data: dict, **kwargs) -> list:
        """Submit a form as people do: once, or now and then twice at the same moment (a double click). The
        answers; the browser shows the last."""
        if self.rng.random() < DOUBLE_CLICK:
            return self.at_once(lambda: self.submit(page, path, data, **kwargs))
        return [self.submit(page, path, data, **kwargs)]

    @staticmethod
    def at_once(send) -> list:
        """The answers to the same request sent twice at the same moment."""
        answers = []

        def one():
            try:
                answers.append(send())
            except Stop:
                pass

        threads = [threading.Thread(target=one) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if not answers:
            raise Stop
        return answers

    def follow(self, response):
        """Where a browser goes after a form: the page the answer names."""
        return self.get(response.headers["Location"])

    @staticmethod
    def ok(response, *codes: int) -> bool:
        return response is not None and response.status_code in (codes or (200,))

    def pick_link(self, response, pattern: str, among: int = 10) -> str | None:
        """One of the first few links of a list that match `pattern`."""
        links = list(dict.fromkeys(re.findall(rf'href="({pattern})"', response.text))) if self.ok(response) else []
        return self.rng.choice(links[:among]) if links else None

    # --- reading ---

    def dashboard(self):
        self.get("/dashboard/")

    def customers(self):
        page = self.get("/customers/")
        link = self.pick_link(page, rf"/customers/{UUID}")
        if link and self.rng.random() < 0.6:
            self.get(link)

    def search_customers(self):
        page = self.get(f"/customers/?q={self.rng.choice(SEARCHES)}")
        link = self.pick_link(page, rf"/customers/{UUID}")
        if link:
            self.get(link)

    def devices(self):
        page = self.get("/devices/")
        link = self.pick_link(page, rf"/devices/{UUID}")
        if link and self.rng.random() < 0.5:
            self.get(link)

    def search_devices(self):
        page = self.get(f"/devices/?q={self.rng.choice(('SN000', 'SN001', 'SN002', 'SOAK'))}")
        link = self.pick_link(page, rf"/devices/{UUID}")
        if link:
            self.get(link)

    def due(self):
        self.get("/due/")

    def board(self):
        self.get("/schedule/")

    def work_orders(self):
        page = self.get("/work-orders/")
        link = self.pick_link(page, rf"/work-orders/{UUID}")
        if link and self.rng.random() < 0.5:
            self.get(link)

    def invoices(self):
        page = self.get("/invoices/")
        link = self.pick_link(page, rf"/invoices/{UUID}")
        if link and self.rng.random() < 0.5:
            self.get(link)

    def aging(self):
        self.get("/invoices/aging")

    def team(self):
        self.get("/team/")

    def audit(self):
        page = self.get("/audit/")
        if self.ok(page) and self.rng.random() < 0.3:
            older = re.search(r'href="(/audit/\?[^"]*before=\d+[^"]*)"', page.text)
            if older:
                self.get(older.group(1).replace("&amp;", "&"))

    def audit_filtered(self):
        query = self.rng.choice(("action=customer", "action=test.submitted", "action=job", "entity_type=invoice",
                                 f"date_from={dt.date.today().isoformat()}", "actor=manager"))
        self.get(f"/audit/?{query}")

    def audit_entry(self):
        page = self.get("/audit/?action=work_order")
        link = self.pick_link(page, rf"/audit/entries/{UUID}")
        if link:
            self.get(link)

    def tests(self):
        page = self.get("/tests/")
        link = self.pick_link(page, rf"/tests/{UUID}")
        if link and self.rng.random() < 0.5:
            self.get(link)

    def my_day(self):
        page = self.get("/my-day/")
        link = self.pick_link(page, rf"/jobs/{UUID}")
        if link and self.rng.random() < 0.5:
            self.get(link)

    def tomorrow(self):
        self.get(f"/my-day/?date={(dt.date.today() + dt.timedelta(days=1)).isoformat()}")

    # --- the office's writes: the work to do is picked from the top of a list, which everyone in the office
    # sees, so two people may pick the same; a double click sends the same form twice at once ---

    def add_customer(self):
        """A new customer, mostly with a service location and a device or two there, as a new account comes in."""
        firm = self.firm
        form = self.get("/customers/new")
        if not self.ok(form):
            return
        name = firm.marker("customer")
        answer = self.submit(form, "/customers/new", {"name": name, "email": f"{name}@customer.example",
                                                      "phone": "541-555-0199", "billing_address": "PO Box 1, Eugene"})
        if not self.ok(answer, 303):
            return
        customer = re.search(UUID, answer.headers["Location"]).group(0)
        self.ledger.add("customer", firm.id, name)
        self.follow(answer)
        if self.rng.random() < 0.2:
            return
        form = self.get(f"/customers/{customer}/locations/new")
        if not self.ok(form):
            return
        street = f"{firm.marker('place')} Soak Street"
        districts = [t["value"] for t in _tags(form.text, "district_id") if t.get("value")]
        answer = self.submit(form, f"/customers/{customer}/locations/new", {
            "address_line1": street, "city": "Eugene", "state": "OR", "postal_code": "97401",
            "district_id": self.rng.choice(districts) if districts else "", "site_contact_name": "Front desk"})
        if not self.ok(answer, 303):
            return
        place = re.search(UUID, answer.headers["Location"]).group(0)
        self.ledger.add("location", firm.id, street)
        self.follow(answer)
        for _ in range(self.rng.choice((1, 1, 2))):
            form = self.get(f"/locations/{place}/devices/new")
            if not self.ok(form):
                return
            serial = firm.marker("device").upper()
            answer = self.submit(form, f"/locations/{place}/devices/new", {
                "device_type": self.rng.choice(("RP", "RP", "DC", "DC", "PVB", "DCDA", "AVB")), "manufacturer": "Watts",
                "model": "009", "serial": serial, "size": self.rng.choice(("3/4", "1", "2")), "hazard": "health",
                "where_installed": "By the meter"})
            if not self.ok(answer, 303):
                return
            self.ledger.add("device", firm.id, serial)
            self.follow(answer)
        firm.add_place(place)

    def plan_work(self):
        """A work order for the devices of a place that are not on other work (a colleague may plan them first)."""
        firm = self.firm
        place = firm.pick_place(self.rng)
        if place is None:
            return
        self.get(f"/locations/{place}")
        form = self.get(f"/locations/{place}/work-orders/new")
        if not self.ok(form):
            return
        devices = [t["value"] for t in _tags(form.text, "devices")]
        if not devices:  # all planned already
            firm.drop_place(place)
            return
        notes = firm.marker("work-order")
        answer = self.submit(form, f"/locations/{place}/work-orders/new",
                             {"kind": "test", "devices": devices, "notes": notes}, expect=(422,))
        firm.drop_place(place)
        if not self.ok(answer, 303):
            return
        self.ledger.add("work order", firm.id, notes)
        self.follow(answer)

    def book(self):
        """Book a work order waiting on the board for a technician, today; a colleague may book it first."""
        link = self.pick_link(self.get("/schedule/"), rf"/schedule/book/{UUID}", among=3)
        if link is None:
            return
        order = link.rsplit("/", 1)[1]
        form = self.get(link)
        if self.ok(form, 302):  # booked meanwhile: the form to move its job instead
            self.tally.refused("book: booked by a colleague meanwhile (the form to move its job instead)")
            return
        if not self.ok(form):
            return
        technicians = [t["value"] for t in _tags(form.text, "technician") if t.get("value")]
        starts = self.rng.randrange(7, 16)
        answers = self.click(form, link, {
            "technician": self.rng.choice(technicians), "day": _value(form.text, "day"),
            "starts": f"{starts:02d}:00", "ends": f"{starts + 1:02d}:30"}, expect=(422,))
        booked = [answer for answer in answers if self.ok(answer, 303)]
        if booked:
            self.ledger.add("booking", self.firm.id, order)
            self.follow(booked[0])

    def invoice_work(self):
        """Invoice a work order the technicians completed, from the list of completed work."""
        link = self.pick_link(self.get("/work-orders/?status=completed"), rf"/work-orders/{UUID}", among=3)
        if link is None:
            return
        page = self.get(link)
        if not self.ok(page) or f'action="{link}/invoice"' not in page.text or 'On <a href="/invoices/' in page.text:
            return  # invoiced already
        answers = [answer for answer in self.click(page, f"{link}/invoice", {}) if self.ok(answer, 303)]
        made = [answer for answer in answers if re.fullmatch(rf"/invoices/{UUID}", answer.headers["Location"])]
        if made:
            self.ledger.add("invoice", self.firm.id, link.rsplit("/", 1)[1])
            self.follow(made[0])
        elif answers:  # back on the work order, with the reason
            self.tally.refused(f"create invoice: {_flash_error(self.follow(answers[0]))}")

    def send_invoice(self):
        """Check a draft invoice and send it: frozen from now on, printed and emailed by the worker. A draft with no
        lines (made from a visit with no price lines) gets its test fee first."""
        link = self.pick_link(self.get("/invoices/?status=draft"), rf"/invoices/{UUID}", among=3)
        if link is None:
            return
        page = self.get(link)
        if self.ok(page) and "No lines yet." in page.text:
            description = f"Backflow test ({self.firm.marker('line')})"
            answer = self.submit(page, f"{link}/lines", {"description": description, "quantity": "1",
                                                         "unit_price": "95.00", "taxable": "y"})
            if not self.ok(answer, 303):
                return
            page = self.follow(answer)
            if not (self.ok(page) and _flash_ok(page.text)):
                self.tally.refused(f"add a line: {_flash_error(page)}")
                return
            self.ledger.add("invoice line", self.firm.id, description)
        if not self.ok(page) or f'action="{link}/send"' not in page.text:
            return
        answer = self.click(page, f"{link}/send", {})[-1]
        if not self.ok(answer, 303):
            return
        shown = self.follow(answer)
        if self.ok(shown) and _flash_ok(shown.text):
            self.ledger.add("invoice sent", self.firm.id, link.rsplit("/", 1)[1])
        else:
            self.tally.refused(f"send invoice: {_flash_error(shown)}")

    def pay(self):
        """A check came in for a sent invoice: all of what it asks for, or part of it."""
        link = self.pick_link(self.get("/invoices/?status=sent"), rf"/invoices/{UUID}", among=3)
        if link is None:
            return
        page = self.get(link)
        if not self.ok(page) or f'action="{link}/payments"' not in page.text:
            return
        due = re.search(r">Balance</th><td>\$([\d,]+\.\d\d)", page.text) \
            or re.search(r">Total</th><td><strong>\$([\d,]+\.\d\d)", page.text)
        amount = decimal.Decimal(due.group(1).replace(",", ""))
        if self.rng.random() < 0.2:
            amount = (amount / 2).quantize(decimal.Decimal("0.01"))
        reference = self.firm.marker("check")
        # More than is still due is refused: a colleague recorded the same check a moment before.
        answers = self.click(page, f"{link}/payments", {
            "amount": str(amount), "method": "check", "reference": reference,
            "received_on": _value(page.text, "received_on"), "form_key": _value(page.text, "form_key")},
            expect=(422,))
        recorded = [answer for answer in answers if self.ok(answer, 303)]
        if recorded:
            self.ledger.add("payment", self.firm.id, reference)
            self.follow(recorded[0])

    # --- the technician's day ---

    def work(self):
        """The next step of today's route: start the first open job, test its next device, or complete it."""
        day = self.get("/my-day/")
        if not self.ok(day):
            return
        stops = re.findall(rf'data-job="({UUID})".*?badge-status-(\w+)', day.text, re.S)
        job = next((job for job, status in stops if status in ("scheduled", "in_progress")), None)
        if job is None:
            return
        page = self.get(f"/jobs/{job}")
        if not self.ok(page):
            return
        status = re.search(r'id="job-status"><span class="badge badge-status-(\w+)', page.text).group(1)
        pending = re.findall(rf'data-device="({UUID})" data-outcome="pending" data-label="(\w+) [^"]*"\s*'
                             r'data-test-url="([^"]+)"', page.text)
        if status == "scheduled" and (not pending or self.rng.random() < 0.7):
            self.job_action(page, job, "start")
        elif pending:
            device, kind, url = pending[0]
            self.test(job, device, kind, url.replace("&amp;", "&"))
        else:
            self.job_action(page, job, "complete")

    def job_action(self, page, job: str, action: str) -> None:
        path = f"/jobs/{job}/{action}"
        kind = {"start": "job start", "complete": "job completed"}[action]
        if not self.phone:
            answer = self.click(page, path, {})[-1]
            if self.ok(answer, 303):
                self.ledger.add(kind, self.firm.id, job)
                self.follow(answer)
            return
        if self.outbox(path, {}):
            self.ledger.add(kind, self.firm.id, job)

    def test(self, job: str, device: str, kind: str, form_url: str) -> None:
        """Test a device: most pass, some fail and pass after a repair, a few fail."""
        form = self.get(form_url)
        if not self.ok(form):
            return
        draw = self.rng.random()
        readings = _readings(kind, "fail" if draw < 0.15 else "pass", self.rng)
        fields = {"test_type": "annual", "gauge_id": _value(form.text, "gauge_id"), "line_pressure_psi": "72",
                  **({} if kind == "AVB" else {"shutoff1_tight": "yes"}),
                  **{f"r_{key}": value for key, value in readings.items()}, "technician_signature": SIGNATURE}
        if draw < 0.10:
            fields["repairs"] = [self.rng.choice(("replaced disc", "cleaned seat", "replaced spring"))]
            fields.update({f"retest_r_{key}": value for key, value in _readings(kind, "pass", self.rng).items()})
        if 'name="customer_signer_name"' in form.text:
            fields.update(customer_signature=SIGNATURE, customer_signer_name="Site manager")
        if not self.phone:
            fields["notes"] = self.firm.marker("test")
            answer = self.submit(form, form_url, fields)
            if self.ok(answer, 303):
                self.ledger.add("test", self.firm.id, fields["notes"])
                self.follow(answer)
            return
        client_id = str(uuid.uuid4())
        now = dt.datetime.now(dt.timezone.utc)
        fields.update(device_id=device, job_id=job, notes=self.firm.marker("phone-test"), phone_steps=json.dumps({
            "opened": (now - dt.timedelta(minutes=self.rng.uniform(4, 15))).isoformat(),
            "submitted": (now - dt.timedelta(seconds=self.rng.uniform(1, 30))).isoformat()}))
        if self.outbox(f"/outbox/tests/{client_id}", fields):
            self.ledger.add("phone test", self.firm.id, client_id)

    def outbox(self, path: str, fields: dict) -> bool:
        """Send a record as the phone's outbox does: a fresh token, then the record, as JSON. Stored (200 or 201)
        is done; the phone whose answer was lost sends it again, perhaps twice at the same moment."""
        token = self.get("/outbox/token", headers={"Accept": "application/json"})
        if not self.ok(token):
            return False
        headers = {"X-CSRFToken": token.json()["csrf"], "Accept": "application/json"}

        def send():
            data = {**fields, "phone_sent_at": dt.datetime.now(dt.timezone.utc).isoformat()} if fields else None
            return self.post(path, data, headers=headers)

        answers = [send()]
        draw = self.rng.random()
        if draw < RESEND_AT_ONCE:
            answers += self.at_once(send)
        elif draw < RESEND:
            answers.append(send())
        if not all(self.ok(answer, 200, 201) for answer in answers):
            return False
        self.get(answers[0].json()["next"])  # the phone goes on to the page the server names
        return True

    # --- the auditor ---

    def verify_chain(self):
        """Verify the company's chain in the background while everyone writes to it, and wait for the answer."""
        page = self.get("/audit/")
        if not self.ok(page):
            return
        answer = self.submit(page, "/audit/verify", {}, headers={"HX-Request": "true"})
        for _ in range(120):
            if not self.ok(answer, 200, 202):
                return
            if "Chain intact" in answer.text:
                return
            if "Chain broken" in answer.text or "could not finish" in answer.text:
                self.tally.problem(f"the auditor's verification: {re.sub(r'<[^>]+>', '', answer.text).strip()}")
                return
            poll = re.search(r'hx-get="(/audit/verify/[^"]+)"', answer.text)
            if poll is None:
                return
            time.sleep(1)
            answer = self.get(poll.group(1), headers={"HX-Request": "true"})

    def audit_report(self):
        """A CSV of today's entries: queued, built by the worker, then downloaded."""
        page = self.get("/audit/")
        if not self.ok(page):
            return
        answer = self.submit(page, "/audit/reports", {"format": "csv", "date_from": dt.date.today().isoformat()},
                             headers={"HX-Request": "true"})
        if not self.ok(answer, 202):
            return
        export = re.search(rf'id="export-({UUID})"', answer.text).group(1)
        self.ledger.add("audit report", self.firm.id, export)
        for _ in range(120):
            download = re.search(r'href="(/audit/reports/[^"]+/download)"', answer.text)
            if download:
                self.get(download.group(1))
                return
            time.sleep(1)
            answer = self.get(f"/audit/reports/{export}", headers={"HX-Request": "true"})
            if not self.ok(answer):
                return


# --- the processes under test --------------------------------------------------------------------------------

class MailSink:
    """A loopback SMTP server that takes whatever the worker mails and counts it."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = 0
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages += 1
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def _groups(web, worker, cron) -> dict[str, int]:
    """RSS in bytes of each process under test: the gunicorn master, each web worker (by pid), the RQ worker and
    the cron scheduler."""
    import psutil

    rss = {}
    for name, process in (("gunicorn master", web), ("rq worker", worker), ("cron", cron)):
        parent = psutil.Process(process.pid)
        rss[name] = parent.memory_info().rss
        if process is web:
            for child in parent.children():
                try:
                    rss[f"web worker {child.pid}"] = child.memory_info().rss
                except psutil.NoSuchProcess:
                    pass  # gunicorn is replacing it; the check of the pids at the end says so
    return rss


class Sampler(threading.Thread):
    """RSS of the processes under test every few seconds, from the start of the load to its end (`stop`)."""

    def __init__(self, web, worker, cron, warmup: float):
        super().__init__(daemon=True)
        self.processes, self.warmup = (web, worker, cron), warmup
        self.samples: list[tuple[float, dict[str, int]]] = []  # (seconds into the run, RSS by process)
        self.started = 0.0
        self.halt = threading.Event()

    def run(self) -> None:
        self.started = time.monotonic()
        while not self.halt.wait(5):
            self.samples.append((time.monotonic() - self.started, _groups(*self.processes)))

    def stop(self) -> None:
        self.halt.set()
        self.join()
        self.samples.append((time.monotonic() - self.started, _groups(*self.processes)))

    def start_rss(self) -> dict[str, int]:
        """The first sample after the warm-up: the processes have loaded what they load once."""
        return next((rss for at, rss in self.samples if at >= self.warmup), self.samples[-1][1])

    def end_rss(self) -> dict[str, int]:
        return self.samples[-1][1]

    def by_minute(self) -> list[dict[str, int]]:
        """The start, the first sample of each full minute after it, and the end."""
        start = next((at for at, _ in self.samples if at >= self.warmup), self.samples[-1][0])
        marks: list[dict[str, int]] = []
        for at, rss in self.samples[:-1]:
            if at >= start + 60 * len(marks):
                marks.append(rss)
        return marks + [self.end_rss()]


def check_memory(sampler: Sampler) -> list[str]:
    """No process under test grew by more than a tenth after the warm-up, and gunicorn replaced no web worker."""
    start, end = sampler.start_rss(), sampler.end_rss()
    problems = [f"{name} grew from {start[name] / 1e6:.1f} to {end[name] / 1e6:.1f} MB"
                for name in start if name in end and end[name] - start[name] > start[name] * MEMORY_GROWTH]
    replaced = sorted(name for name in start if name not in end)
    if replaced:
        problems.append(f"gunicorn replaced {', '.join(replaced)} during the run")
    return problems


def _places(db, company_id: uuid.UUID, count: int) -> list[str]:
    """Seeded service locations with devices in service and none of them on unfinished work."""
    import sqlalchemy as sa

    with db.service() as session:
        return [str(place) for place in session.scalars(sa.text(
            "SELECT l.id FROM customer_locations l WHERE l.company_id = :c "
            "AND EXISTS (SELECT 1 FROM devices d WHERE d.location_id = l.id AND d.status = 'active') "
            "AND NOT EXISTS (SELECT 1 FROM devices d JOIN work_order_devices i ON i.device_id = d.id "
            "JOIN work_orders w ON w.id = i.work_order_id WHERE d.location_id = l.id "
            "AND w.status IN ('open', 'scheduled', 'in_progress')) ORDER BY random() LIMIT :n"),
            {"c": company_id, "n": count})]


# --- the checks afterwards -----------------------------------------------------------------------------------

# What each kind of write made, found by its key, and the audit entry each of those rows must have exactly once.
WRITES = {
    "customer": ("SELECT id FROM customers WHERE company_id = :c AND name = :k", "customer.created"),
    "location": ("SELECT id FROM customer_locations WHERE company_id = :c AND address_line1 = :k", "location.created"),
    "device": ("SELECT id FROM devices WHERE company_id = :c AND serial = :k", "device.created"),
    "work order": ("SELECT id FROM work_orders WHERE company_id = :c AND notes = :k", "work_order.created"),
    "booking": ("SELECT id FROM scheduled_jobs WHERE company_id = :c AND work_order_id = CAST(:k AS uuid)",
                "job.booked"),
    "job start": ("SELECT id FROM scheduled_jobs WHERE company_id = :c AND id = CAST(:k AS uuid) "
                  "AND started_at IS NOT NULL", "job.started"),
    "test": ("SELECT id FROM test_records WHERE company_id = :c AND notes = :k", "test.submitted"),
    "phone test": ("SELECT id FROM test_records WHERE company_id = :c AND client_id = CAST(:k AS uuid)",
                   "test.submitted"),
    "job completed": ("SELECT id FROM scheduled_jobs WHERE company_id = :c AND id = CAST(:k AS uuid) "
                      "AND completed_at IS NOT NULL", "job.completed"),
    "invoice": ("SELECT id FROM invoices WHERE company_id = :c AND work_order_id = CAST(:k AS uuid) "
                "AND status <> 'void'", "invoice.created"),
    "invoice line": ("SELECT i.id FROM invoices i, jsonb_array_elements(i.lines) line WHERE i.company_id = :c "
                     "AND line->>'description' = :k", "invoice.line_added"),
    "invoice sent": ("SELECT id FROM invoices WHERE company_id = :c AND id = CAST(:k AS uuid) "
                     "AND sent_at IS NOT NULL", "invoice.sent"),
    "payment": ("SELECT invoice_id FROM payments WHERE company_id = :c AND reference = :k", "payment.recorded"),
    "audit report": ("SELECT id FROM exports WHERE company_id = :c AND id = CAST(:k AS uuid) AND status = 'done'",
                     "export.requested"),
}


def check_writes(engine, writes: list[Write]) -> tuple[collections.Counter, list[str]]:
    """Each write answered as done is in the database exactly once, and so is its audit entry (a payment's is
    the invoice's: one entry per payment on it)."""
    import sqlalchemy as sa

    checked: collections.Counter = collections.Counter()
    problems, entries = [], collections.Counter()
    with engine.connect() as connection:
        for write in sorted(set(writes), key=lambda w: (w.kind, w.key)):
            rows, action = WRITES[write.kind]
            found = connection.execute(sa.text(rows), {"c": write.company, "k": write.key}).scalars().all()
            checked[write.kind] += 1
            if len(found) != 1:
                problems.append(f"{write.kind} {write.key}: found {len(found)} times, not once")
                continue
            entries[write.company, action, str(found[0])] += 1
        for (company, action, entity), expected in entries.items():
            count = connection.execute(sa.text(
                "SELECT count(*) FROM audit_log WHERE company_id = :c AND action = :a AND entity_id = :e"),
                {"c": company, "a": action, "e": entity}).scalar_one()
            if count != expected:
                problems.append(f"audit entry {action} of {entity}: {count} of them, not {expected}")
    return checked, problems


def check_money(engine, run: str) -> list[str]:
    """What the invoices paid in this run say they were paid is the sum of their payments, and no more than due."""
    import sqlalchemy as sa

    with engine.connect() as connection:
        wrong = connection.execute(sa.text(
            "SELECT i.id, i.paid_cents, i.total_cents, (SELECT sum(amount_cents) FROM payments p "
            "WHERE p.invoice_id = i.id) FROM invoices i WHERE i.id IN "
            "(SELECT invoice_id FROM payments WHERE reference LIKE :run)"), {"run": f"soak-{run}-%"}).all()
    return [f"invoice {invoice}: paid {paid} of {total}, its payments add up to {payments}"
            for invoice, paid, total, payments in wrong if paid != payments or paid > total]


def check_chains(db, companies) -> list[str]:
    from flowtrack.audit.services import verify_chain

    problems = []
    with db.service() as session:
        for company_id, domain, _ in companies:
            verification = verify_chain(session, company_id)
            if not verification.ok:
                problems.append(f"audit chain of {domain}: {verification.problem}")
            else:
                print(f"audit chain of {domain}: {verification.entries:,} entries verify")
    return problems


def deadlocks(engine) -> int:
    import sqlalchemy as sa

    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")).scalar_one()


def check_database(engine, deadlocks_before: int) -> list[str]:
    """No deadlock happened, and nothing is left waiting on a lock or holding a transaction open."""
    import sqlalchemy as sa

    with engine.connect() as connection:
        left = connection.execute(sa.text(
            "SELECT pid, usename, state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND (wait_event_type = 'Lock' OR state LIKE 'idle in transaction%')")).all()
        waiting = connection.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one()
    problems = [f"session {row[0]} ({row[1]}) {row[2]}, waiting on {row[3]}/{row[4]}: {row[5]}" for row in left]
    if waiting:
        problems.append(f"{waiting} locks not granted")
    found = deadlocks(engine) - deadlocks_before
    if found:
        problems.append(f"PostgreSQL counted {found} deadlocks")
    return problems


def drain(app, engine, limit: float) -> tuple[float, list[str]]:
    """Wait until the worker has run everything queued (Redis and the queued_jobs table); the seconds it took."""
    import sqlalchemy as sa
    from rq import Queue
    from rq.registry import StartedJobRegistry

    queue = Queue(app.config["QUEUE_NAME"], connection=app.extensions["flowtrack.redis"])
    started = time.monotonic()
    while True:
        with engine.connect() as connection:
            waiting = connection.execute(sa.text("SELECT count(*) FROM queued_jobs")).scalar_one()
        running = StartedJobRegistry(queue=queue).count
        if not (len(queue) or running or waiting):
            return time.monotonic() - started, []
        if time.monotonic() - started > limit:
            return time.monotonic() - started, [f"queue not drained after {limit:.0f} s: {len(queue)} in Redis, "
                                                f"{running} running, {waiting} in queued_jobs"]
        time.sleep(1)


def failed_jobs(app) -> set[str]:
    from rq import Queue
    from rq.registry import FailedJobRegistry

    queue = Queue(app.config["QUEUE_NAME"], connection=app.extensions["flowtrack.redis"])
    return set(FailedJobRegistry(queue=queue).get_job_ids())


# --- the run -------------------------------------------------------------------------------------------------

def _percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in ms."""
    if len(values) < 2:
        return (values[0] * 1000,) * 3 if values else (0.0, 0.0, 0.0)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a person's actions (s)")
    parser.add_argument("--warmup", type=float, default=30, help="seconds before the start RSS is taken")
    parser.add_argument("--customers", type=int, default=2000, help="customers seeded per company")
    args = parser.parse_args()
    import sqlalchemy as sa

    app = bench_app()
    settings, db = app.extensions["flowtrack.settings"], app.extensions["flowtrack.db"]
    companies = seed_companies(app, args.customers)
    run = uuid.uuid4().hex[:6]
    owner = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)
    sink = MailSink()
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               SECRET_KEY=settings.secret_key, SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink.port), SMTP_SECURITY="none")
    failed_before, deadlocks_before = failed_jobs(app), deadlocks(owner)
    log_path = settings.instance_path / "soak-worker.log"
    log = log_path.open("w")
    web, base = _serve("wsgi:app", env, args.workers)
    worker, cron = (subprocess.Popen([sys.executable, "-m", "flowtrack.ops.cli", role], cwd=ROOT, env=env,
                                     stdout=log, stderr=subprocess.STDOUT) for role in ("worker", "cron"))
    budget, tally, ledger = Budget(args.minutes * 60, args.max_requests), Tally(), Ledger()
    people = []
    for (company_id, _, team), tag in zip(companies, "AB", strict=True):
        firm = Firm(company_id, tag, run, _places(db, company_id, 400))
        technicians = [member for member in team if member.role == "technician"]
        for member in team:
            # Three technicians in five have phones that run the page's scripts (the outbox); two send plain forms.
            people.append(Person(member, firm, session_cookie(app, company_id, member.user_id), base, budget=budget,
                                 tally=tally, ledger=ledger, think=args.think, seed=f"{run} {member.email}",
                                 phone=member not in technicians[3:]))
    sampler = Sampler(web, worker, cron, args.warmup)
    print(f"soak {run}: {len(people)} people of {len(companies)} companies on {base} (gunicorn {args.workers} "
          f"workers, RQ worker and cron; mail to 127.0.0.1:{sink.port}; worker log {log_path}) for "
          f"{args.minutes:g} min or {args.max_requests:,} requests", flush=True)
    problems: list[str] = []
    try:
        started = time.monotonic()
        sampler.start()
        for person in people:
            person.start()
        for person in people:
            person.join()
        seconds = time.monotonic() - started
        sampler.stop()
        problems += check_memory(sampler)
        drained, late = drain(app, owner, 600)
        problems += late + check_database(owner, deadlocks_before)
        new_failures = failed_jobs(app) - failed_before
        problems += [f"failed job {job}" for job in sorted(new_failures)]
    finally:
        for process in (web, worker, cron):
            _stop(process)
        sink.stop()
        log.close()
    checked, wrong = check_writes(owner, ledger.writes)
    problems += wrong + check_money(owner, run) + check_chains(db, companies)
    owner.dispose()
    report(tally, seconds, checked, sampler, drained, sink.messages)
    problems += tally.problems
    failures = tally.errors + tally.unexpected + problems
    for failure in failures:
        print(f"FAILED: {failure}")
    print("all checks passed" if not failures else f"{len(failures)} checks failed")
    sys.exit(1 if failures else 0)


def report(tally: Tally, seconds: float, checked: collections.Counter, sampler: Sampler, drained: float,
           mails: int) -> None:
    everything = [s for values in tally.seconds.values() for s in values]
    p50, p95, p99 = _percentiles(everything)
    print(f"requests: {len(everything):,} in {seconds:.0f} s, {len(everything) / seconds:.1f}/s; "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms")
    print("statuses: " + ", ".join(f"{status}: {count:,}" for status, count in sorted(tally.statuses.items())))
    print(f"errors (5xx, no answer): {len(tally.errors)}; unexpected 4xx: {len(tally.unexpected)}")
    print("expected refusals: " + (", ".join(f"{what}: {count}" for what, count in sorted(tally.refusals.items()))
                                   or "none"))
    print(f"writes checked (each found once, with its audit entry): {sum(checked.values()):,} ("
          + ", ".join(f"{kind}: {count}" for kind, count in sorted(checked.items())) + ")")
    print(f"queue drained {drained:.0f} s after the load; mails received: {mails}")
    print(f"\n{'page':<44}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for label, values in sorted(tally.seconds.items(), key=lambda item: -len(item[1])):
        print(f"{label:<44}{len(values):9,}" + "".join(f"{p:9.1f}" for p in _percentiles(values)))
    marks = sampler.by_minute()
    print(f"\nRSS (MB) after the {sampler.warmup:.0f}-s warm-up, then each minute, then at the end of the load")
    print(f"{'process':<24}" + "".join(f"{label:>8}" for label in
                                      ["start", *(f"+{n} min" for n in range(1, len(marks) - 1)), "end"])
          + f"{'peak':>8}{'change':>8}")
    for name in sorted(set(marks[0]) | set(marks[-1])):
        values = [mark.get(name, 0) / 1e6 for mark in marks]
        peak = max(rss.get(name, 0) for _, rss in sampler.samples) / 1e6
        print(f"{name:<24}" + "".join(f"{value:8.1f}" for value in values)
              + f"{peak:8.1f}{values[-1] - values[0]:+8.1f}")


if __name__ == "__main__":
    main()
