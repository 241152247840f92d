"""The console front door: `shopkeep chat`."""
