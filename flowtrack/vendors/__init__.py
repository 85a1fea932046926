"""Vendors: outside testers a company subcontracts work orders to, and what their people see."""
