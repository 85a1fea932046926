"""Test-due reminders by email, letter and text, and the opt-out."""
