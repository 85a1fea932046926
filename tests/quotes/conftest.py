from tests.customers.factories import records  # noqa: F401 (the fixture)
