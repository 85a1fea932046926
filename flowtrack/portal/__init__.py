"""The customer portal: a customer's own invoices, assemblies and certificates, and paying online."""
