"""Errors a user can act on.

Every failure that a user should read is raised as a MigrationError (or a subclass); modules turn
it into fail_json(msg=str(err)) and console commands print it and exit 1. The message must name
what failed (table, row key, line or byte offset) and why.
"""


class MigrationError(Exception):
    """Base class: a clear, user-facing failure."""


class DumpSyntaxError(MigrationError):
    """The dump cannot be parsed (truncated, garbage, unsupported statement)."""


class ValueConversionError(MigrationError):
    """A value cannot be converted to its target type under the chosen policy."""


class ConnectionFailed(MigrationError):
    """A database could not be reached or refused the credentials."""


class VerificationFailed(MigrationError):
    """Source and target differ."""


class LargeValueError(MigrationError):
    """A value could not be read whole (MySQL's max_allowed_packet, or a raw read of big values failed)."""


class ExtensionMissing(MigrationError):
    """A PostgreSQL extension the plan needs (pgvector) is absent and the user may not create it."""


class PlanChanged(MigrationError):
    """A rerun's plan differs from the one that loaded the target's tables."""
