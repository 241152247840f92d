"""Mail in and out: the inbox, composing, the outbox and its sender, and the portal's own notices."""
