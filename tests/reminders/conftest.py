from tests.customers.factories import records  # noqa: F401  (the fixture, for every test here)
from tests.notifications.conftest import smtp_server  # noqa: F401
