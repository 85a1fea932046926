"""Importing customers, locations and devices from a CSV file."""
