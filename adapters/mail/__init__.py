"""Mail transports: the SMTP relay, or .eml files when none is configured."""
