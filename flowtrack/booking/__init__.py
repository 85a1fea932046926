"""Customers book their own test: the office opens windows (a technician's mornings, afternoons or days, for so
many visits), a customer picks one in the portal for their assemblies coming due, and it goes on the board or
waits for the office to confirm."""
