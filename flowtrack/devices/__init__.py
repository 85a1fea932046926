"""Backflow prevention assemblies (devices), test kits (gauges) and the due-date rules."""
