"""Domain errors: raised by services when a business rule is broken."""


class DomainError(Exception):
    """A broken rule, with a message for the user and optionally the form field it concerns."""

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.__class__.__name__


class NotFound(DomainError):
    """The thing asked for does not exist, or is not visible to the actor."""


class Forbidden(DomainError):
    """The actor may not do this."""


class Conflict(DomainError):
    """The change clashes with existing data (duplicate mobile, VIN, plate...)."""


class ValidationFailed(DomainError):
    """Input broke a rule that a form could not check on its own."""
