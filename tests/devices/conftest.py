from tests.customers.factories import records  # noqa: F401  (the fixture, for every test here)
from tests.scheduling.factories import planner  # noqa: F401
