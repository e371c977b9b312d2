"""Parallel INSERT conversion: the main process reads and splits the dump, a fork pool converts.

Usage (from transform.Transformer, when jobs > 1):
    par = ParallelInserts(jobs=4)
    if not par.add(transformer, table_state, codec, offset):   # the INSERT whose tuples start at
        par.drain(transformer)                                 # reader.pos; False: not splittable
        codec.consume(transformer, table_state, offset)        # here, so convert it in process
    ...
    par.drain(transformer); par.close()

The dump is one sequential stream, so lexing and statement splitting stay in this process. Each
INSERT's tuples (bytes) go into a batch of a few MB per table; batches are converted to COPY text by
the same RowCodec code as jobs=1, in worker processes, and their results are written back in
submission order, so files, row counts and row numbers are byte-identical to jobs=1. At most
2 x jobs batches are in flight, so memory stays bounded whatever the dump size.

A batch that raises (a value the policies refuse, a malformed tuple) or that writes rejects is
redone here, in order, with the exact row counts so far: the error (table, row, key, byte offset)
and the reject files are those of jobs=1.
"""
import multiprocessing
import os
import pickle
from collections import Counter, deque

from ..errors import DumpSyntaxError
from ..model import mysqllexer as lx
from .rowcodec import RowCodec

BATCH_BYTES = 2 << 20          # big enough that pickling and scheduling cost < 1%, small for memory
MAX_STATEMENT = 16 << 20       # a longer INSERT is converted in process, streamed
INFLIGHT_PER_JOB = 2           # batches queued per worker: keeps workers busy, bounds memory


# Default ceiling on transform workers. The main process splits statements and writes every
# batch's output, which caps the whole pipeline near 150 MB/s whatever the worker count, while each
# worker costs 30-45 MB RSS: past 4 workers more cores add memory, not speed. An explicit jobs
# value is taken as given.
DEFAULT_JOBS_CAP = 4


def usable_cpus():
    """CPUs this process may run on (the affinity mask, as in a container), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:       # not on Linux
        return max(1, os.cpu_count() or 1)


def default_jobs():
    """Transform workers when none are asked for: min(usable CPUs, DEFAULT_JOBS_CAP)."""
    return min(usable_cpus(), DEFAULT_JOBS_CAP)


# -- worker side ------------------------------------------------------------------------------

class _Redo(Exception):
    """The batch must be redone in the main process (error or reject: exact row numbers there)."""


class _StatementReader:
    """What RowCodec.consume needs of a DumpReader, over one complete INSERT statement."""

    chunk = 1 << 20

    def __init__(self, data, base):
        self.buf, self.pos, self.base, self.eof = data, 0, base, False
        self.statement_end = len(data) - 2       # its ');', found by the main process's splitter

    def offset(self, pos=None):
        return self.base + (self.pos if pos is None else pos)

    def fill(self, min_ahead=None):
        self.eof = True               # the statement is complete: there is nothing more to read
        return False


class _ListSink:
    def __init__(self):
        self.parts = []

    def write(self, data):
        self.parts.append(data)
        return len(data)


class _WorkerTable:
    """The parts of transform.TableState that RowCodec reads, picklable."""

    def __init__(self, ts):
        self.table, self.plans, self.policies = ts.table, ts.plans, ts.policies
        self.from_target = getattr(ts, "from_target", False)
        self.out = None
        self.rows = self.bytes = 0


class _WorkerTransformer:
    def __init__(self, reader):
        self.reader = reader

    def report_progress(self, *_args, **_kwargs):
        pass

    def reject(self, *_args, **_kwargs):
        raise _Redo()


_CODECS = {}                            # in each worker: codec id -> (RowCodec, _WorkerTable)
_MAX_CODECS = 8                         # dumps go table after table: a few recent ones are enough


def _worker_codec(codec_id, spec):
    got = _CODECS.pop(codec_id, None)
    if got is None:
        wts, ncols, positions, check_mode = pickle.loads(spec)
        got = (RowCodec(wts, ncols, positions, check_mode), wts)
        while len(_CODECS) >= _MAX_CODECS:
            del _CODECS[next(iter(_CODECS))]     # least recently used first
    _CODECS[codec_id] = got
    return got


def convert_batch(codec_id, spec, statements, bases):
    """In a worker: the batch's statements -> ("ok", COPY bytes, rows, policy counts, embedding
    counts) or ("redo",)."""
    codec, wts = _worker_codec(codec_id, spec)
    wts.policies.counts.clear()
    for emb in codec.embeddings:
        emb["converted"] = emb["nulled"] = emb["rejected"] = 0
    sink = _ListSink()
    wts.out, wts.rows, wts.bytes = sink, 0, 0
    try:
        for stmt, base in zip(statements, bases):
            reader = _StatementReader(stmt, base)
            codec.consume(_WorkerTransformer(reader), wts, base)
            if reader.pos != len(stmt):
                wts.out = None
                return ("redo",)        # the statement did not end where the splitter thought
    except Exception:                   # any failure: redone in process, where it is reported exactly
        wts.out = None
        return ("redo",)
    emb = [(e["converted"], e["nulled"]) for e in codec.embeddings]
    wts.out = None                      # the cached codec must not keep this batch's output alive
    return ("ok", b"".join(sink.parts), wts.rows, dict(wts.policies.counts), emb)



# -- main process -----------------------------------------------------------------------------

class _Batch:
    def __init__(self, ts, codec):
        self.ts, self.codec = ts, codec
        self.parts, self.bases, self.size = [], [], 0   # statements (bytes) and their offsets


class _ProxyTransformer:
    """The real transformer, but reading from one buffered statement (for redone batches)."""

    def __init__(self, tr, reader):
        self._tr, self.reader = tr, reader

    def report_progress(self, *args, **kwargs):
        pass

    def reject(self, *args, **kwargs):
        return self._tr.reject(*args, **kwargs)


class ParallelInserts:
    def __init__(self, jobs, batch_bytes=None):
        self.jobs = jobs
        self.batch_bytes = batch_bytes or BATCH_BYTES
        self.pool = multiprocessing.get_context("fork").Pool(jobs)
        self.pending = deque()             # (AsyncResult, _Batch, data), in submission order
        self.batch = None
        self.max_inflight = INFLIGHT_PER_JOB * jobs
        self._ids = {}                     # id(codec) -> (codec id, pickled spec)

    def add(self, tr, ts, codec, offset):
        """Queue the INSERT whose tuples start at tr.reader.pos and move the reader past it;
        False (reader untouched) when it must be converted in process."""
        reader = tr.reader
        while True:
            end, more = lx.statement_end(reader.buf, reader.pos)
            if end is not None:
                break
            ahead = len(reader.buf) - reader.pos
            if not more or reader.eof or ahead > MAX_STATEMENT:
                return False
            reader.fill(2 * ahead + reader.chunk)
        batch = self.batch
        if batch is not None and (batch.codec is not codec or batch.size >= self.batch_bytes):
            self._submit(tr)
            batch = None
        if batch is None:
            batch = self.batch = _Batch(ts, codec)
        batch.parts.append(reader.buf[reader.pos:end])
        batch.bases.append(reader.offset())
        batch.size += end - reader.pos
        reader.pos = end
        return True

    def _spec(self, ts, codec):
        got = self._ids.get(id(codec))
        if got is None:
            spec = pickle.dumps((_WorkerTable(ts), codec.ncols, codec.positions, codec.check_mode))
            got = self._ids[id(codec)] = (len(self._ids), spec)
        return got

    def _submit(self, tr):
        batch, self.batch = self.batch, None
        if batch is None:
            return
        codec_id, spec = self._spec(batch.ts, batch.codec)
        # the list is pickled as is: joining it first would copy every byte once more
        result = self.pool.apply_async(convert_batch, (codec_id, spec, batch.parts, batch.bases))
        self.pending.append((result, batch))
        while len(self.pending) > self.max_inflight:
            self._finish_oldest(tr)

    def drain(self, tr):
        """Submit the open batch and write every result: afterwards the table states are exact."""
        self._submit(tr)
        while self.pending:
            self._finish_oldest(tr)

    def _finish_oldest(self, tr):
        result, batch = self.pending.popleft()
        got = result.get()
        if got[0] == "ok":
            self._write(batch.ts, batch.codec, got)
        else:
            self._redo(tr, batch)

    @staticmethod
    def _write(ts, codec, got):
        _ok, out, rows, counts, emb = got
        if out and ts.out is not None:
            ts.out.write(out)
            ts.bytes += len(out)
        ts.rows += rows
        if counts:
            ts.policies.counts.update(Counter(counts))
        for plan_emb, (converted, nulled) in zip(codec.embeddings, emb):
            plan_emb["converted"] += converted
            plan_emb["nulled"] += nulled

    @staticmethod
    def _redo(tr, batch):
        """Convert the batch here, in order: raises the same error, writes the same rejects."""
        for stmt, base in zip(batch.parts, batch.bases):
            reader = _StatementReader(stmt, base)
            batch.codec.consume(_ProxyTransformer(tr, reader), batch.ts, base)
            if reader.pos != len(stmt):
                raise DumpSyntaxError("table %s: the INSERT at byte offset %d could not be split safely "
                                      "for parallel conversion; rerun with jobs: 1" % (batch.ts.key, base))

    def close(self):
        self.pool.close()
        self.pool.join()

    def terminate(self):
        self.pool.terminate()
        self.pool.join()
