from tests.customers.factories import records  # noqa: F401  (the fixtures, for every test here)
from tests.scheduling.factories import planner  # noqa: F401
