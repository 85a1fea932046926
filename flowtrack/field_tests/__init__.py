"""Field tests of devices: the pass/fail rules, recording and amending a test, the printed report."""
