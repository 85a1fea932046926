"""The outside services that process customers' data for FlowTrack, as the public subprocessors page lists them.

A test (tests/trust/test_privacy_and_subprocessors.py) finds every module that talks to another service over the
network and fails unless that service is listed here, and fails when this list changes without a new
`LAST_UPDATED`. Where the code leaves the provider to the deployment (the host, the mail service), the entry says
so rather than naming one: no production deployment has been made yet (docs/hosting-regions.md).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

LAST_UPDATED = dt.date(2026, 12, 7)

CHOSEN_AT_DEPLOYMENT = "Chosen at deployment and recorded in Hosting regions (no production deployment yet)"


@dataclass(frozen=True)
class Subprocessor:
    key: str
    service: str
    provider: str
    purpose: str
    data: str
    location: str


SUBPROCESSORS: tuple[Subprocessor, ...] = (
    Subprocessor(
        "hosting", "Hosting", CHOSEN_AT_DEPLOYMENT,
        "Runs the web servers, background workers, PostgreSQL database, Redis queue and the database backups.",
        "Everything FlowTrack holds: accounts, customers, devices, tests, invoices, the audit log, sign-in records "
        "with IP addresses and browsers.",
        "The region recorded in Hosting regions"),
    Subprocessor(
        "files", "File storage",
        "Amazon Web Services (S3), or another S3-compatible object store, when the deployment keeps files in a "
        "bucket; otherwise the host's own disks",
        "Keeps uploaded and generated files.",
        "Device photos (without their location data), signatures, company logos, invoice PDFs, printed test "
        "reports, data and audit exports.",
        "The region recorded in Hosting regions"),
    Subprocessor(
        "stripe", "Payments", "Stripe, Inc.",
        "Companies' FlowTrack subscriptions; customers' card payments of invoices, into the testing company's own "
        "Stripe account.",
        "Company name and admin's email, plan and subscription state; invoice number and amount. Card details are "
        "typed into Stripe's own form and never reach FlowTrack.",
        "United States"),
    Subprocessor(
        "email", "Email delivery", f"The deployment's SMTP mail service. {CHOSEN_AT_DEPLOYMENT}",
        "Sends reminders, invoices, test reports, invitations, password resets and sign-in links, and reports back "
        "bounces and spam complaints.",
        "Recipients' email addresses and the messages' content, attachments included.",
        "Where the chosen service processes mail"),
    Subprocessor(
        "sms", "Text messages", "Twilio Inc., or another Twilio-compatible service the deployment names",
        "Sends test-due reminders by text to customers who agreed to texts, and passes on STOP and START replies.",
        "Customers' phone numbers and the reminder's text (the company's name, how many assemblies are due and "
        "when).",
        "United States"),
    Subprocessor(
        "maps", "Map tiles",
        "The tile server the deployment names in its MAP_TILE_URL setting, if it names one; none by default (the "
        "day's map is then drawn on a plain background)",
        "Draws the streets under the map of a technician's day.",
        "The browser of whoever opens the map asks it for the pictures of that area, with the browser's IP "
        "address; the stops, names and addresses are not sent.",
        "Where the chosen tile server runs"),
)


def by_key() -> dict[str, Subprocessor]:
    return {entry.key: entry for entry in SUBPROCESSORS}
