"""Email (the outbox and SMTP delivery) and text messages."""
