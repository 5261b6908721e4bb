"""Demo data of ``make run`` (``flask seed-demo``): made through the domains' services, outside
app/ as the bench's data generator is (bench/)."""
