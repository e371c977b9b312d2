"""Measuring processes: wall time and peak RSS (the process and its children, polled with psutil),
one command or several in parallel; medians over repeated runs.

    m = run(["mariadb-dump", ...], stdout_path="dump.sql")       # -> Measured
    m = run_parallel([Command([...]), Command([...])], workers=2)   # wall time of the group
"""
import contextlib
import os
import statistics
import subprocess
import threading
import time

import psutil

POLL_SECONDS = 0.05
NOT_AVAILABLE = "not available"


class StepFailed(Exception):
    """A measured command exited non-zero: the figure is not reported, the reason is."""


class Command:
    """One process to run: argv, optional stdin/stdout files, extra environment."""

    def __init__(self, argv, *, stdin_path=None, stdout_path=None, env=None, weight=0, label=None):
        self.argv = [str(a) for a in argv]
        self.stdin_path = stdin_path
        self.stdout_path = stdout_path
        self.env = env
        self.weight = weight      # larger first when run in parallel (e.g. table bytes)
        self.label = label or os.path.basename(self.argv[0])


class Measured:
    def __init__(self, seconds, peak_rss, outputs):
        self.seconds = seconds
        # bytes: the largest sum of RSS over the process tree(s) seen at once, polled every 50 ms
        # (a process shorter than one poll shows 0; wait4's ru_maxrss is not used: after fork it
        # counts the parent Python's pages)
        self.peak_rss = peak_rss
        self.outputs = outputs    # [(label, stdout text or None, stderr text)]

    def as_dict(self):
        return {"seconds": round(self.seconds, 3), "peak_rss_mb": round(self.peak_rss / 2**20, 1)}


class _RssPoller(threading.Thread):
    """Polls the summed RSS of some processes and all their descendants until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.pids = set()
        self.peak = 0
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def add(self, pid):
        with self._lock:
            self.pids.add(pid)

    def sample(self):
        total = 0
        with self._lock:
            pids = list(self.pids)
        for pid in pids:
            try:
                proc = psutil.Process(pid)
                procs = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                continue
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
        self.peak = max(self.peak, total)

    def run(self):
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(POLL_SECONDS)

    def stop(self):
        self._halt.set()
        self.join()


def _start(cmd, poller):
    env = dict(os.environ, **(cmd.env or {}))
    with contextlib.ExitStack() as files:
        stdin = files.enter_context(open(cmd.stdin_path, "rb")) if cmd.stdin_path else subprocess.DEVNULL
        stdout = files.enter_context(open(cmd.stdout_path, "wb")) if cmd.stdout_path else subprocess.PIPE
        proc = subprocess.Popen(cmd.argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=env)
    poller.add(proc.pid)
    # Drain pipes in threads so a chatty process never blocks on a full pipe.
    result = {"stdout": None, "stderr": b""}
    readers = []
    for name in ("stdout", "stderr"):
        stream = getattr(proc, name)
        if stream is not None:
            t = threading.Thread(target=lambda s=stream, n=name: result.__setitem__(n, s.read()),
                                 daemon=True)
            t.start()
            readers.append(t)
    return proc, result, readers


def run_parallel(commands, workers=1, check=True):
    """Run commands `workers` at a time (heaviest first); wall time of the whole group."""
    pending = sorted(commands, key=lambda c: -c.weight)
    running = []
    outputs = []
    failures = []
    poller = _RssPoller()
    poller.start()
    started = time.perf_counter()
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                cmd = pending.pop(0)
                running.append((cmd, *_start(cmd, poller)))
            time.sleep(0.01)
            for item in list(running):
                cmd, proc, result, readers = item
                if proc.poll() is None:
                    continue
                for t in readers:
                    t.join()
                running.remove(item)
                err = result["stderr"].decode("utf-8", "replace")
                out = result["stdout"].decode("utf-8", "replace") if result["stdout"] is not None else None
                outputs.append((cmd.label, out, err))
                if proc.returncode != 0:
                    failures.append("%s exited %d: %s" % (cmd.label, proc.returncode, _tail(err or out)))
    finally:
        seconds = time.perf_counter() - started
        poller.sample()
        poller.stop()
        for _cmd, proc, _result, _readers in running:
            proc.kill()
    if failures and check:
        raise StepFailed("; ".join(failures))
    return Measured(seconds, poller.peak, outputs)


def run(argv, *, stdin_path=None, stdout_path=None, env=None, check=True, label=None):
    cmd = Command(argv, stdin_path=stdin_path, stdout_path=stdout_path, env=env, label=label)
    return run_parallel([cmd], 1, check)


def _tail(text, limit=600):
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Measurement:
    """The runs of one measured path: each run's figures, the runs that failed and why, or why it
    could not run at all. Status: ok (at least one run), failed (every attempt failed),
    not available / skipped (never attempted, with the reason)."""

    def __init__(self, key, label, notes=""):
        self.key = key
        self.label = label
        self.notes = notes
        self.runs = []
        self.failures = []   # [{"run": n, "reason": "..."}]
        self._state = "ok"
        self._why = None
        self.extra = {}

    def unavailable(self, reason):
        self._state, self._why = NOT_AVAILABLE, reason

    def skipped(self, reason):
        self._state, self._why = "skipped", reason

    def failed(self, reason, run=None):
        self.failures.append({"run": run, "reason": reason})

    @property
    def status(self):
        if self._state != "ok":
            return self._state
        return "failed" if self.failures and not self.runs else "ok"

    @property
    def reason(self):
        if self._state != "ok":
            return self._why
        return self.failures[-1]["reason"] if self.failures else None

    @property
    def active(self):
        """Worth another attempt: never marked unavailable, and not failing every time so far."""
        return self._state == "ok" and not (self.failures and not self.runs)

    def median(self, field="seconds"):
        return median([r.get(field) for r in self.runs])

    def as_dict(self):
        out = {"label": self.label, "status": self.status, "reason": self.reason, "notes": self.notes,
               "runs": self.runs, "failed_runs": self.failures}
        if self.runs:
            out["median_seconds"] = self.median()
            out["peak_rss_mb"] = max(r.get("peak_rss_mb") or 0 for r in self.runs)
            for field in ("rows_missing", "rows_per_s", "mb_per_s"):
                if any(field in r for r in self.runs):
                    out[field] = self.median(field)
        out.update(self.extra)
        return out
