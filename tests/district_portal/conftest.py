from tests.customers.factories import records  # noqa: F401  (the fixtures, for every test here)
from tests.district_portal.factories import district_admin_of, districts, eweb  # noqa: F401
