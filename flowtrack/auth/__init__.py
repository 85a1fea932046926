"""Signing in and out: passwords, server-side sessions, the second factor, and who the request's user is."""
