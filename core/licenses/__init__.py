"""License keys, and later their devices and team seats."""
