"""Results of one benchmark run: same-run ratios with their goals, the JSON files, the Markdown table.

Every figure in the table is read from the result dict that is written to bench/results/, so the
README (which includes bench/results/latest.md) shows only what a JSON file holds.
"""
import json
import os

# (name, numerator, denominator, goal, note): goals from the issues (load, live_copy, embeddings,
# transform, verify). The first available key of a tuple is used; falling back from (c) is said.
E2E = ("ours_e2e", "ours_dump_path")
RATIOS = (
    ("ours load (b) / bound (a)", ("ours_load",), ("bound",), ("<=", 1.15), ""),
    ("ours end to end (c) / bound (a)", E2E, ("bound",), None, ""),
    ("ours live / bound (a)", ("ours_live",), ("bound",), ("<=", 1.5), ""),
    ("pgloader (d) / ours end to end (c)", ("pgloader",), E2E, (">=", 1.5), ""),
    ("pgloader (d) / ours live", ("pgloader",), ("ours_live",), (">=", 2.5), ""),
    ("guide / ours end to end (c)", ("guide",), E2E, None, ""),
    ("verify checksums / mysqldump", ("ours_verify",), ("mysqldump",), ("<=", 2.0), ""),
)
QA_RATIOS = (
    ("ours end to end (c) / bound (embeddings)", E2E, ("bound",), ("<=", 2.0),
     "without the HNSW index on either side (measured on its own)"),
    ("ours live / bound (embeddings)", ("ours_live",), ("bound",), None, ""),
    ("guide's loop (extrapolated) / ours end to end (c)", ("guide_loop",), E2E,
     (">=", 100.0), "its loop alone vs our whole dump path"),
    ("guide's loop / ours in-database conversion (both extrapolated)", ("guide_loop",), ("ours_convert",),
     (">=", 100.0), "same start: rows loaded as JSON text"),
    ("HNSW build: server defaults / ours", ("hnsw_defaults",), ("hnsw_ours",), None, ""),
)
# (name, measurement, field, goal): single figures with a goal in the issues (4, 6, 7).
FIGURES = {
    "employees": (
        ("transform MB/s per core (1 job)", "ours_transform_1", "mb_per_s", (">=", 30.0)),
        ("transform peak RSS MB (1 job)", "ours_transform_1", "peak_rss_mb", ("<", 200.0)),
        ("transform peak RSS MB (all cores)", "ours_transform_n", "peak_rss_mb", ("<", 200.0)),
        ("live path peak RSS MB", "ours_live", "peak_rss_mb", ("<", 200.0)),
    ),
    "qa": (
        ("end to end (c) peak RSS MB (embeddings)", "ours_e2e", "peak_rss_mb", ("<", 300.0)),
    ),
}
_COMPARE = {"<=": lambda v, g: v <= g, ">=": lambda v, g: v >= g, "<": lambda v, g: v < g}


def _pick(measurements, keys):
    for key in keys:
        m = measurements.get(key)
        if m and m.get("status") == "ok" and m.get("median_seconds"):
            return key, m["median_seconds"]
    return None, None


def _ratio(measurements, spec):
    name, num_keys, den_keys, goal, note = spec
    num_key, num = _pick(measurements, num_keys)
    den_key, den = _pick(measurements, den_keys)
    entry = {"name": name, "numerator": num_key, "denominator": den_key, "goal": None, "met": None,
             "note": note}
    if goal:
        entry["goal"] = "%s %g" % goal
    if num is None or den is None:
        entry["value"] = None
        missing = [k for k, v in ((num_keys[0], num), (den_keys[0], den)) if v is None]
        entry["note"] = ("not available (%s)" % ", ".join(missing)) + (("; " + note) if note else "")
        return entry
    entry["value"] = round(num / den, 3)
    if goal:
        entry["met"] = _COMPARE[goal[0]](entry["value"], goal[1])
    if "ours_dump_path" in (num_key, den_key) and "ours_e2e" in (num_keys[0], den_keys[0]):
        entry["note"] = "sequential dump path: end to end (c) not available" + (("; " + note) if note else "")
    return entry


def _figure(measurements, spec):
    name, key, field, goal = spec
    m = measurements.get(key) or {}
    value = m.get(field) if m.get("status") == "ok" else None
    entry = {"name": name, "measurement": key, "field": field, "goal": "%s %g" % goal, "value": value,
             "met": None if value is None else _COMPARE[goal[0]](value, goal[1]),
             "note": "" if value is not None else "not available (%s: %s)" % (key, m.get("status", "absent"))}
    if field == "peak_rss_mb" and value is not None:
        entry["note"] = "largest of the runs, summed over the process tree"
    return entry


def figures(result):
    return {name: [_figure(ds.get("measurements", {}), spec) for spec in FIGURES.get(name, ())]
            for name, ds in result["datasets"].items()}


def ratios(result):
    out = {}
    for name, ds in result["datasets"].items():
        specs = QA_RATIOS if name == "qa" else RATIOS
        out[name] = [_ratio(ds.get("measurements", {}), spec) for spec in specs]
    return out


# Paths that must move every row: a loss there is a bug (the guide's way is expected to lose rows).
MUST_BE_WHOLE = ("bound", "pgloader", "ours_load", "ours_dump_path", "ours_e2e", "ours_live")


def problems(result):
    """What makes the run exit non-zero (the table and JSON are written anyway): a measurement that
    failed, or a path that should be lossless but is missing rows."""
    out = []
    for name, ds in result["datasets"].items():
        for key, m in ds.get("measurements", {}).items():
            for failure in m.get("failed_runs") or []:
                out.append("%s/%s run %s failed: %s" % (name, key, failure["run"], failure["reason"][:300]))
            if key in MUST_BE_WHOLE and m.get("status") == "ok" and m.get("rows_missing"):
                out.append("%s/%s: %s rows missing" % (name, key, m["rows_missing"]))
    return out


def write(result, results_dir):
    """<mode>-<timestamp>.json (kept), latest[-quick].json and latest[-quick].md (overwritten)."""
    os.makedirs(results_dir, exist_ok=True)
    stamp = result["started_at"].replace(":", "").replace("+0000", "Z").replace("+00:00", "Z")
    suffix = "" if result["mode"] == "full" else "-quick"
    paths = [os.path.join(results_dir, "%s-%s.json" % (result["mode"], stamp)),
             os.path.join(results_dir, "latest%s.json" % suffix)]
    result["source_json"] = _relative(paths[0])
    for path in paths:
        _atomic_write(path, json.dumps(result, indent=1, sort_keys=False) + "\n")
    md = os.path.join(results_dir, "latest%s.md" % suffix)
    _atomic_write(md, markdown(result))
    return [*paths, md]


def _relative(path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rel = os.path.relpath(os.path.abspath(path), root)
    return path if rel.startswith("..") else rel


def _atomic_write(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _fmt(value, digits=2):
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int) or (isinstance(value, float) and value >= 1000):
        return f"{value:,.0f}"
    return ("{:.%df}" % digits).format(value)


def markdown(result):
    mach = result["machine"]
    lines = ["### Benchmark (%s run, %s)" % (result["mode"], result["started_at"]), "",
             "Machine: %s cores (%s), %s GB RAM; MariaDB %s, PostgreSQL %s, pgvector %s, %s, Python %s. "
             "Load average at start %s, at end %s (shared machine: other work may run). "
             "Runs per measurement: %s (median). The whole run took %s. Every figure comes from %s."
             % (mach["nproc"], mach.get("cpu"), mach.get("memory_gb"), mach.get("mariadb"),
                mach.get("postgresql"), mach.get("pgvector"), " ".join(mach.get("pgloader") or []) or
                "pgloader ?", mach.get("python"), mach.get("load_average_start"),
                mach.get("load_average_end"), result["scale"]["runs"],
                _minutes(result.get("duration_seconds")),
                result.get("source_json", "the run's JSON file")), ""]
    rounds = mach.get("load_average_by_round") or []
    if rounds:
        lines[2] += " 1-minute load average after each round: %s." % ", ".join(
            "%s %s" % (r["after"], r["load"][0]) for r in rounds)
    if result.get("partial"):
        lines[1:1] = ["", "**PARTIAL RESULTS** (written %s; the run did not finish): rows without runs were "
                      "not reached." % result["partial"]]
    for name, ds in result["datasets"].items():
        lines += _dataset_table(name, ds)
        lines += _ratio_table(result.get("ratios", {}).get(name, []))
        lines += _figure_table(result.get("figures", {}).get(name, []))
    return "\n".join(lines) + "\n"


def _minutes(seconds):
    return "%.1f min" % (seconds / 60) if seconds else "?"


def _dataset_table(name, ds):
    if ds.get("status") != "ok":
        return ["#### %s: %s" % (name, ds.get("status")), "", "%s" % ds.get("reason"), ""]
    dump_mb = (ds.get("dump_bytes") or 0) / 2**20
    out = ["#### %s: %s rows, %.1f MB of dump" % (name, _fmt(ds["rows_total"]), dump_mb), "",
           "| measurement | median s | vs bound | peak RSS MB | rows/s | MB/s | rows missing | notes |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    ms = ds["measurements"]
    bound = (ms.get("bound") or {}).get("median_seconds")
    for m in ms.values():
        if m["status"] != "ok":
            out.append("| %s | %s | | | | | | %s |" % (m["label"], m["status"], _cell(m.get("reason"))))
            continue
        sec = m.get("median_seconds")
        vs = _fmt(sec / bound) + "x" if bound and sec else "–"
        mbps = m.get("mb_per_s")  # the median over the runs, like the seconds
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            m["label"], _fmt(sec), vs, _fmt(m.get("peak_rss_mb"), 0), _fmt(m.get("rows_per_s")),
            _fmt(mbps, 1), _fmt(m.get("rows_missing")), _cell(_notes(m))))
    out.append("")
    return out


def _notes(m):
    parts = [m.get("notes") or ""]
    if m.get("failed_runs") and m.get("runs"):
        failed = m["failed_runs"]
        parts.append("FAILED in %d of %d runs (median of the others): %s" % (
            len(failed), len(failed) + len(m["runs"]), failed[-1]["reason"][:160]))
    if m.get("retried_after_server_restart"):
        parts.append("%d run(s) repeated after a lab server restart" % len(m["retried_after_server_restart"]))
    runs = m.get("runs") or []
    if runs and runs[-1].get("phases"):
        parts.append("phases (last run): " + ", ".join("%s %.2fs" % kv for kv in runs[-1]["phases"].items()))
    if runs and runs[-1].get("sample_fraction", 1) < 1:
        parts.append("measured on %s rows, peak RSS on that sample" % _fmt(runs[-1]["sample_rows"]))
    if runs and runs[-1].get("psql_errors"):
        top = next(iter(runs[-1]["psql_errors"].items()))
        parts.append("psql errors, most frequent: %s (x%s)" % (top[0][:80], _fmt(top[1])))
    if runs and "embedding_type" in runs[-1]:
        parts.append("embedding column: %s, HNSW index: %s" % (runs[-1]["embedding_type"],
                                                               "yes" if runs[-1]["hnsw_index"] else "no"))
    if runs and runs[-1].get("pipeline_transform"):
        t = runs[-1]["pipeline_transform"]
        parts.append("its transform inside the pipeline (last run): %.2fs, %.1f MB/s, %s jobs"
                     % (t["seconds"], t["mb_per_s"], t.get("jobs")))
    if runs and "converted_in_sample" in runs[-1]:
        parts.append("converted %s of %s rows in the sample (last run)" % (
            _fmt(runs[-1]["converted_in_sample"]), _fmt(runs[-1]["sample_rows"])))
    if runs and runs[-1].get("verify_failed"):
        parts.append("VERIFY REPORTED DIFFERENCES")
    if m.get("extrapolated_from"):
        parts.append("extrapolated from %s" % m["extrapolated_from"])
    return "; ".join(p for p in parts if p)


def _cell(text):
    return (text or "").replace("|", "\\|").replace("\n", " ")[:400]


def _figure_table(entries):
    if not entries:
        return []
    out = ["| figure (goal from the issues) | value | goal | met | note |", "|---|---:|---|---|---|"]
    for e in entries:
        out.append("| %s | %s | %s | %s | %s |" % (e["name"], _fmt(e["value"], 1), e["goal"],
                                                   _fmt(e["met"]) if e["met"] is not None else "",
                                                   _cell(e["note"])))
    out.append("")
    return out


def _ratio_table(entries):
    if not entries:
        return []
    out = ["| ratio (same run) | value | goal | met | note |", "|---|---:|---|---|---|"]
    for e in entries:
        out.append("| %s | %s | %s | %s | %s |" % (e["name"], _fmt(e["value"]) if e["value"] is not None
                                                   else "–", e["goal"] or "", _fmt(e["met"])
                                                   if e["met"] is not None else "", _cell(e["note"])))
    out.append("")
    return out
