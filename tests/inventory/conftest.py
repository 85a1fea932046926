from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.scheduling.factories import planner  # noqa: F401 (the fixture)
