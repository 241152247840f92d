"""Orders and what they give: purchases, ownership, downloads and the Discord roles access grants."""
