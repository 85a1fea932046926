"""The week board where work orders are booked for technicians, and a technician's day."""
