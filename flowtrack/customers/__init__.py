"""Customers and their service locations."""
