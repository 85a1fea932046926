"""Moments one feature announces and another acts on, where a direct call would make the two packages import
each other. A receiver runs in the sender's transaction and session; it is connected when its module is imported
(the app imports every feature's routes, and so their services, when it is made, in web and worker alike).

- `report_printed(session, record=TestRecord)`: a test's report is printed into the file store; filing it with
  the water district (flowtrack/submissions/services.py) starts here.
"""
from blinker import Namespace

_signals = Namespace()
report_printed = _signals.signal("report-printed")
