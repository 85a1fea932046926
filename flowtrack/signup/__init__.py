"""A new company signs up: the company, its first admin, its subscription."""
