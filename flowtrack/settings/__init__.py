"""The admin's one page of company settings: the company's details (companies) beside the tax rate, payment terms,
trip charge and logo invoices are billed with (invoices) and the test-due reminder settings (reminders). It stands
above the features whose settings it gathers; each section saves through that feature's own form and service, which
audits the change."""
