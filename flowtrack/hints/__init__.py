"""Hints that save the office work: plain rules over the company's records (flowtrack/hints/rules.py), each saying
in words why it shows, with a link to act on it, dismissed for the company until its facts change."""
