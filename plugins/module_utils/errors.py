"""Errors a user can act on.

Every failure that a user should read is raised as a MigrationError (or a subclass); modules turn
it into fail_json(msg=str(err)) and console commands print it and exit 1. The message must name
what failed (table, row key, line or byte offset) and why.
"""


class MigrationError(Exception):
    """Base class: a clear, user-facing failure."""


class DumpSyntaxError(MigrationError):
    """The dump cannot be parsed (truncated, garbage, unsupported statement)."""


class IncompleteDump(DumpSyntaxError):
    """The dump does not end with mysqldump's '-- Dump completed' line: it was cut short."""


class ValueConversionError(MigrationError):
    """A value cannot be converted to its target type under the chosen policy."""


class ConnectionFailed(MigrationError):
    """A database could not be reached or refused the credentials."""


class VerificationFailed(MigrationError):
    """Source and target differ."""
