"""The kernel: what every feature builds on (database and tenant context, config, request plumbing, the permission
matrix, queue, file store, cache, paging, money, dates, templating). It imports no feature and no model."""
