"""From a quote to a sent invoice, in the large company, through the app in process as its people click it: the
office starts a quote and adds three lines and sends it; the customer opens the emailed link and approves it; the
office books the work order made of it; the technician starts and completes the job; the office invoices the
work order and sends the invoice. Each step's time (median of the rounds), against FlowTrack's floor: as many
signed-in requests that render the empty layout (`bench/floor_app.py`), in the same process.

    python bench/quote_to_invoice.py [--rounds 20]
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import time
from collections import defaultdict

import sqlalchemy as sa
from _common import bench_app, seed_large_company
from pages import _cookie

LINES = (("Rebuild the first check", "1", "185.50"), ("Relief valve spring", "2", "19.99"), ("Permit fee", "1", "25"))


def _client(app, company, role: str | None):
    client = app.test_client()
    if role:
        name, value = _cookie(app, company, role).split("=", 1)
        client.set_cookie(name, value)
    return client


def _token(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _form_key(page: str) -> str:
    return re.search(r'name="form_key" type="hidden" value="([^"]+)"', page).group(1)


class Steps:
    """Times each named step (one or more requests) of a round."""

    def __init__(self):
        self.times, self.requests = defaultdict(list), defaultdict(int)

    def run(self, name: str, client, method: str, url: str, expect: int = 200, **kwargs):
        started = time.perf_counter()
        answer = client.open(url, method=method, **kwargs)
        self.times[name].append(time.perf_counter() - started)
        self.requests[name] += 1
        assert answer.status_code == expect, (name, answer.status_code, answer.get_data(as_text=True)[:400])
        return answer


def one_round(app, company, location_id, technician_id, office, technician, steps: Steps, n: int) -> int:
    """One quote to a sent invoice; returns the invoice's total in cents."""
    from flowtrack.models.notifications import NotificationEmail
    from flowtrack.models.scheduling import WorkOrder

    db = app.extensions["flowtrack.db"]
    form = steps.run("open the new-quote form", office, "GET", f"/quotes/new/{location_id}").get_data(as_text=True)
    csrf = _token(form)
    made = steps.run("start the quote", office, "POST", f"/quotes/new/{location_id}", 303,
                     data={"expires_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
                           "form_key": _form_key(form), "csrf_token": csrf})
    quote_url = made.headers["Location"]
    quote_id = quote_url.rsplit("/", 1)[1]
    for description, quantity, price in LINES:
        page = steps.run("add a line (the page, then the line)", office, "GET", quote_url).get_data(as_text=True)
        steps.run("add a line (the page, then the line)", office, "POST", f"/quotes/{quote_id}/lines", 303,
                  data={"description": description, "quantity": quantity, "unit_price": price,
                        "form_key": _form_key(page), "csrf_token": csrf})
    steps.run("send it", office, "POST", f"/quotes/{quote_id}/send", 303, data={"csrf_token": csrf})

    with db.service() as session:  # the customer's inbox
        body = session.scalars(sa.select(NotificationEmail.body).where(NotificationEmail.company_id == company)
                               .order_by(NotificationEmail.created_at.desc()).limit(1)).one()
    link = re.search(r"https?://[^/\s]+(/q/[^\s]+)", body).group(1)
    # Each customer from their own address, as the approval's rate limit (per address) expects of real ones.
    customer = app.test_client()
    customer.environ_base["REMOTE_ADDR"] = f"203.0.113.{n % 250 + 1}"
    page = steps.run("the customer opens the link", customer, "GET", link).get_data(as_text=True)
    steps.run("the customer approves", customer, "POST", f"{link}/approve", 303,
              data={"version": "1", "name": f"Pat Payables {n}", "csrf_token": _token(page)})

    with db.service() as session:
        order_id = session.scalar(sa.text("SELECT work_order_id FROM quotes WHERE id = :q"), {"q": quote_id})
    day = dt.date.today() + dt.timedelta(days=1)
    steps.run("book the work order", office, "POST", f"/schedule/book/{order_id}", 303,
              data={"technician": str(technician_id), "day": day.isoformat(), "starts": "08:00", "ends": "10:00",
                    "csrf_token": csrf})
    with db.service() as session:
        job_id = session.scalar(sa.text("SELECT id FROM scheduled_jobs WHERE work_order_id = :o"), {"o": order_id})
    technician_csrf = _token(steps.run("the technician opens the job", technician, "GET",
                                       f"/jobs/{job_id}").get_data(as_text=True))
    for action in ("start", "complete"):
        steps.run(f"the technician: {action}", technician, "POST", f"/jobs/{job_id}/{action}", 303,
                  data={"csrf_token": technician_csrf})
    invoiced = steps.run("invoice the work order", office, "POST", f"/work-orders/{order_id}/invoice", 303,
                         data={"csrf_token": csrf})
    invoice_id = invoiced.headers["Location"].rsplit("/", 1)[1]
    steps.run("send the invoice", office, "POST", f"/invoices/{invoice_id}/send", 303, data={"csrf_token": csrf})
    with db.service() as session:
        order = session.get(WorkOrder, order_id)
        assert order.status == "completed"
        return session.scalar(sa.text("SELECT total_cents FROM invoices WHERE id = :i AND status = 'sent'"),
                              {"i": invoice_id})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    from flowtrack.models.accounts import User
    from flowtrack.models.customers import Customer, CustomerLocation

    app = bench_app()
    app.config["SERVER_NAME"] = None
    company = seed_large_company(app)
    db = app.extensions["flowtrack.db"]
    with db.service() as session:
        location_id = session.scalar(sa.select(CustomerLocation.id).join(Customer, Customer.id ==
                                                                          CustomerLocation.customer_id)
                                     .where(Customer.company_id == company, Customer.email.is_not(None)).limit(1))
        technician_id = session.scalar(sa.select(User.id).where(User.email == "technician0@large.bench"))
    office, technician = _client(app, company, "manager"), _client(app, company, "technician")

    steps = Steps()
    one_round(app, company, location_id, technician_id, office, technician, Steps(), 0)  # warm
    totals = {one_round(app, company, location_id, technician_id, office, technician, steps, n)
              for n in range(1, args.rounds + 1)}
    assert totals == {18550 + 2 * 1999 + 2500}, totals  # no tax in the seeded company's settings

    import floor_app

    floor = _client(floor_app.app, company, "manager")
    for _ in range(50):
        floor.get("/floor/layout")
    started = time.perf_counter()
    for _ in range(500):
        floor.get("/floor/layout")
    floor_ms = (time.perf_counter() - started) / 500 * 1000

    print(f"{args.rounds} quotes to sent invoices of $250.48, each: {len(LINES)} lines, the customer's approval, the "
          f"booking, the job started and completed, the invoice made and sent")
    print(f"{'step':<40}{'requests':>9}{'median ms':>11}")
    per_round_ms, requests = 0.0, 0
    for name, times in steps.times.items():
        count = steps.requests[name] // args.rounds
        median = statistics.median(times) * 1000 * count
        per_round_ms, requests = per_round_ms + median, requests + count
        print(f"{name:<40}{count:9d}{median:11.1f}")
    print(f"{'the whole path':<40}{requests:9d}{per_round_ms:11.1f}")
    print(f"the floor: {requests} signed-in requests of the empty layout take {requests * floor_ms:.1f} ms "
          f"({floor_ms:.2f} ms each); the path is {per_round_ms / (requests * floor_ms):.1f}x the floor")


if __name__ == "__main__":
    main()
