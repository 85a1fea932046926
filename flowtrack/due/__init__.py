"""The due and overdue list, its CSV, and planning visits from it."""
