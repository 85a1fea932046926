"""Water districts: their due-date rules, report emails and report forms."""
