"""The tenant itself: creating a company, its time zone and today, its settings, where it stands in its
subscription's life, and a background job's session for it."""
