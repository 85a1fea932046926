"""The office finds on the outbox which mail did not go and why, and sends a failed letter again."""
from flowtrack.models.notifications import NotificationEmail
from tests.e2e.conftest import DESKTOP, PHONE


def _mail(app, tenant, subject: str, **fields) -> NotificationEmail:
    with app.extensions["flowtrack.db"].service() as session:
        email = NotificationEmail(company_id=tenant.id, to_address="ap@harbordairy.example", subject=subject,
                                  body="Your invoice is attached.", sensitive=False, **fields)
        session.add(email)
        session.commit()
        return email


def test_the_office_sees_mail_the_server_did_not_take_and_sends_it_again(app, visit, acme):
    _mail(app, acme, "Invoice INV-1041 from Acme", status="queued", attempts=1, error="ConnectionRefusedError")
    _mail(app, acme, "Invoice INV-1042 from Acme", status="failed", attempts=3, error="SMTPDataError: 554")
    for viewport in (DESKTOP, PHONE):
        tab = visit(viewport)
        tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
        page = tab.go("/reminders/#outbox")
        waiting = page.locator("#outbox tr", has_text="INV-1041").inner_text()
        assert "not sent yet" in waiting and "try 1 of 3 failed: the mail server could not be reached" in waiting
        failed = page.locator("#outbox tr", has_text="INV-1042")
        assert "failed after 3 tries: the mail server refused it (code 554)" in failed.inner_text()
        tab.screenshot(f"outbox-{viewport['width']}")
        tab.assert_clean()

    failed.get_by_role("button", name="Send again").click()
    page.wait_for_selector("text=The email to ap@harbordairy.example will be sent again.")
    assert "failed after" not in page.locator("#outbox tr", has_text="INV-1042").inner_text()
    tab.screenshot("sent-again")
