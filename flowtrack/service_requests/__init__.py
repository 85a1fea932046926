"""Customers ask for service from the portal; the office answers each request with a work order or a reason."""
