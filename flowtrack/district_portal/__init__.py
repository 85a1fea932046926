"""The district admin's read-only view of their water district's tests, reports and devices."""
