"""What the store sells: the catalog file, its sync into the database, and plans."""
