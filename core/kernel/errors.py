"""Domain errors: each carries a message fit to show the customer as it is."""


class PortalError(Exception):
    """Something the customer can understand and act on; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(PortalError):
    pass


class InvalidInput(PortalError):
    pass


class NotAllowed(PortalError):
    pass


class RateLimited(PortalError):
    pass


class Conflict(PortalError):
    pass
