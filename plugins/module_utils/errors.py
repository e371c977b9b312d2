"""Errors a user can act on.

Every failure that a user should read is raised as a MigrationError (or a subclass); modules turn
it into fail_json(msg=str(err)) and console commands print it and exit 1. The message must name
what failed (table, row key, line or byte offset) and why.
"""
import os


class MigrationError(Exception):
    """Base class: a clear, user-facing failure."""


class DumpSyntaxError(MigrationError):
    """The dump cannot be parsed (truncated, garbage, unsupported statement)."""


class DumpReadError(DumpSyntaxError):
    """The dump's bytes cannot be read: a corrupt or truncated .gz / .zst file, an I/O error."""


class IncompleteDump(DumpSyntaxError):
    """The dump does not end with mysqldump's '-- Dump completed' line: it was cut short."""


class ValueConversionError(MigrationError):
    """A value cannot be converted to its target type under the chosen policy."""


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
