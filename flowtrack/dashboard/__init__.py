"""The start page, shaped by role."""
