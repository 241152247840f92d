"""What every capability stands on: the portal, the database and unit of work, errors,
security, formatting, domain events and background loops."""
