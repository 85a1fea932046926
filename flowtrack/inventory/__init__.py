"""Parts inventory: parts, the warehouse and the technicians' vans, receiving, transfers, counts and adjustments,
the reorder list, and the parts a repair takes from the van."""
