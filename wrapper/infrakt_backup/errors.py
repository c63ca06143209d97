"""The one exception type the wrapper's layers raise for anything a user can act on.

cli.py turns it into a one-line message on stderr and the exit code: 2 for bad input,
1 for an operation that failed; the web API into its status: 400 bad input, 404 not found,
502 failed.
"""

BAD_INPUT = 2
OPERATION_FAILED = 1


class InfraktError(Exception):
    """A failure with a one-line message meant for the user."""

    def __init__(self, message: str, exit_code: int = OPERATION_FAILED):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class BadInput(InfraktError):
    """Input that was refused before anything ran (exit code 2)."""

    def __init__(self, message: str):
        super().__init__(message, BAD_INPUT)


class NotFound(BadInput):
    """A server or database name that is not registered (bad input, exit code 2; the web API's 404)."""
