"""Quotes for repairs: the office builds one from a failed assembly, a service request or a place, sends it by
email with a link, and the customer approves it (with the optional items they pick) or declines it, in the portal
or through the link; an approved quote becomes a work order with exactly its chosen lines."""
