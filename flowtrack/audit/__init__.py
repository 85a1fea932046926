"""The tamper-evident audit chain: recording entries, verifying the chain, filtering and printing it."""
