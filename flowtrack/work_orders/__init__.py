"""Work orders: the devices to visit at one place, their outcomes and price lines; a booking's conflicts."""
