"""What the console verbs share: progress lines on stderr, and the JSON report on stdout."""
import json
import sys

from .errors import MigrationError


def progress_printer(forced):
    """A callable writing progress lines to stderr when asked (--progress) or on a TTY, else None."""
    if not (forced or sys.stderr.isatty()):
        return None

    def progress(message):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    return progress


def report(verb, run, errors=(MigrationError,)):
    """Run `run()`; print its result as JSON (exit 0) or the error on stderr and as JSON (exit 1)."""
    try:
        result = run()
    except errors as err:
        sys.stderr.write("pgshift %s: %s\n" % (verb, err))
        json.dump({"failed": True, "msg": str(err)}, sys.stdout)
        sys.stdout.write("\n")
        return 1
    json.dump(result, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0
