"""Errors a user can act on: every error class of the engine, in one place.

Every failure that a user should read is raised as a MigrationError (or a subclass); modules turn
it into fail_json(msg=str(err)) and console commands print it and exit 1. The message must name
what failed (table, row key, line or byte offset) and why. A subclass exists only where some code
catches it apart from the others.
"""
import os


class MigrationError(Exception):
    """Base class: a clear, user-facing failure."""


class ConnectionFailed(MigrationError):
    """A database could not be reached or refused the credentials."""


class ConnectionLost(ConnectionFailed):
    """The server ended an open connection (stopped, restarted, or the network went away)."""


class VerificationFailed(MigrationError):
    """Source and target differ."""


class WriteFailed(MigrationError):
    """A file could not be written: no space left on the device, a quota, a read-only file system."""


def write_error(err, path, nbytes=None, written=None):
    """An OSError from writing `path` -> WriteFailed naming the file, how much was being written,
    how much the file already holds and the free space left there (what to make room for)."""
    parts = ["write %s: %s" % (path, err.strerror or err)]
    if nbytes is not None:
        parts.append("writing %d bytes" % nbytes)
    if written is not None:
        parts.append("%d bytes already in the file" % written)
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
        parts.append("%d bytes free on its file system" % (st.f_bavail * st.f_frsize))
    except OSError:
        pass
    return WriteFailed("; ".join(parts))


# -- values and types (model) ---------------------------------------------------------------------

class ValueConversionError(MigrationError):
    """A value cannot be converted to its target type under the chosen policy."""


class UnknownTypeError(MigrationError):
    """A MySQL column type no type rule maps (strict_types, or a type never seen)."""


# -- the dump reader --------------------------------------------------------------------------------

class DumpSyntaxError(MigrationError):
    """The dump cannot be parsed (truncated, garbage, unsupported statement)."""


class DumpReadError(DumpSyntaxError):
    """The dump's bytes cannot be read: a corrupt or truncated .gz / .zst file, an I/O error."""


class IncompleteDump(DumpSyntaxError):
    """The dump does not end with mysqldump's '-- Dump completed' line: it was cut short."""


class DumpDataError(MigrationError):
    """A row that cannot be converted (names table, row, key and byte offset)."""


class RowsAfterPublish(DumpSyntaxError):
    """Rows of a table already handed to the pipelined load: that table is not whole after all."""

    def __init__(self, table_key, message):
        super().__init__(message)
        self.table_key = table_key


class TransformStopped(MigrationError):
    """The transform failed while a loader was still reading the table it was writing."""


# -- the live reader --------------------------------------------------------------------------------

class LiveCopyError(MigrationError):
    """live_copy cannot plan or run (source database, options, resume state)."""


class SnapshotError(MigrationError):
    """The consistent snapshot could not be taken (locks, privileges, binlog position)."""


class ReaderFailed(MigrationError):
    """A reader session (mysql client process) failed."""


class RowRefused(ValueConversionError):
    """A value refused under policy error: the message names table, row key, column and reason."""


class LargeValueError(MigrationError):
    """A value could not be read whole (MySQL's max_allowed_packet, or a raw read of big values failed)."""


class PlanChanged(MigrationError):
    """A rerun's plan differs from the one that loaded the target's tables."""


# -- load, verify, finish ---------------------------------------------------------------------------

class ExtensionMissing(MigrationError):
    """A PostgreSQL extension the plan needs (pgvector) is absent and the user may not create it."""


class LoadError(MigrationError):
    """The load into PostgreSQL failed (a statement, a table's COPY, the resume state)."""


class RowsRejected(MigrationError):
    """More rows were refused than max_rejects allows."""


class VerifyError(MigrationError):
    """Verification could not run (as opposed to VerificationFailed: it ran and found differences)."""


class SequenceError(MigrationError):
    """A sequence could not be read or set."""


class RollbackError(MigrationError):
    """The rollback's marks or export could not be taken."""
