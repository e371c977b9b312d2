"""The benchmark harness: process measurement, ratios and their goals, the guide's sample, secrets."""
import os
import stat
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import harness, report  # noqa: E402
from bench import run as bench_run  # noqa: E402
from bench.lab import Lab  # noqa: E402

ALLOCATE = "import time; b = bytearray(%d); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)"


def test_peak_rss_sees_the_child_allocation():
    m = harness.run([sys.executable, "-c", ALLOCATE % (120 * 2**20)])
    assert m.peak_rss >= 120 * 2**20
    assert m.seconds > 0


def test_parallel_group_sums_concurrent_processes():
    cmds = [harness.Command([sys.executable, "-c", ALLOCATE % (60 * 2**20)], label="p%d" % i)
            for i in range(2)]
    m = harness.run_parallel(cmds, workers=2)
    assert sorted(label for label, _, _ in m.outputs) == ["p0", "p1"]
    assert m.peak_rss >= 2 * 60 * 2**20


def test_failure_names_the_command_and_its_stderr():
    with pytest.raises(harness.StepFailed, match=r"boom exited 3: .*disk on fire"):
        harness.run([sys.executable, "-c", "import sys; sys.stderr.write('disk on fire'); sys.exit(3)"],
                    label="boom")


def test_stdout_to_file(tmp_path):
    out = tmp_path / "out.txt"
    harness.run([sys.executable, "-c", "print('x' * 100000)"], stdout_path=str(out))
    assert out.stat().st_size == 100001


def test_measurement_median_and_status():
    m = harness.Measurement("k", "label")
    for s in (3.0, 1.0, 2.0):
        m.runs.append({"seconds": s, "peak_rss_mb": s * 10})
    d = m.as_dict()
    assert d["median_seconds"] == 2.0 and d["peak_rss_mb"] == 30.0
    m.unavailable("tool missing")
    assert not m.active and m.as_dict()["status"] == harness.NOT_AVAILABLE


def test_a_failed_run_keeps_the_others_and_is_reported():
    m = harness.Measurement("k", "label")
    m.runs.append({"seconds": 2.0})
    m.failed("server gone", run=2)
    assert m.status == "ok" and m.active and m.reason == "server gone"
    d = m.as_dict()
    assert d["median_seconds"] == 2.0 and d["failed_runs"] == [{"run": 2, "reason": "server gone"}]
    assert "FAILED in 1 of 2 runs" in report._notes(d)
    fresh = harness.Measurement("k", "label")
    fresh.failed("broken", run=1)
    assert fresh.status == "failed" and not fresh.active


def _result(**medians):
    ms = {k: {"status": "ok", "median_seconds": v, "label": k, "runs": [{"seconds": v}]}
          for k, v in medians.items() if v is not None}
    ms.update({k: {"status": "not available", "reason": "not landed", "label": k, "runs": []}
               for k, v in medians.items() if v is None})
    return {"datasets": {"employees": {"measurements": ms}}}


@pytest.mark.parametrize(("medians", "name", "value", "met"), [
    ({"ours_load": 11.0, "bound": 10.0}, "ours load (b) / bound (a)", 1.1, True),
    ({"ours_load": 12.0, "bound": 10.0}, "ours load (b) / bound (a)", 1.2, False),
    ({"pgloader": 30.0, "ours_e2e": 10.0}, "pgloader (d) / ours end to end (c)", 3.0, True),
    ({"pgloader": 12.0, "ours_e2e": None, "ours_dump_path": 10.0}, "pgloader (d) / ours end to end (c)",
     1.2, False),
    ({"ours_verify": 5.0, "mysqldump": 2.0}, "verify checksums / mysqldump", 2.5, False),
])
def test_ratios_against_goals(medians, name, value, met):
    entry = next(e for e in report.ratios(_result(**medians))["employees"] if e["name"] == name)
    assert entry["value"] == pytest.approx(value)
    assert entry["met"] is met


def test_problems_are_failures_and_lost_rows_of_lossless_paths():
    result = _result(bound=10.0, guide=5.0, ours_live=None)
    ms = result["datasets"]["employees"]["measurements"]
    assert report.problems(result) == []
    ms["guide"]["rows_missing"] = 1000          # the guide's way is expected to lose rows
    ms["bound"]["rows_missing"] = 3
    ms["ours_live"].update(status="failed", failed_runs=[{"run": 1, "reason": "boom"}])
    assert sorted(report.problems(result)) == ["employees/bound: 3 rows missing",
                                               "employees/ours_live run 1 failed: boom"]


def test_ratio_not_available_is_never_a_number():
    entry = report.ratios(_result(ours_load=None, bound=10.0))["employees"][0]
    assert entry["value"] is None and entry["met"] is None
    assert "not available" in entry["note"]


def test_sequential_fallback_is_said():
    entries = report.ratios(_result(pgloader=20.0, ours_e2e=None, ours_dump_path=10.0))["employees"]
    entry = next(e for e in entries if e["name"].startswith("pgloader (d) / ours end"))
    assert entry["denominator"] == "ours_dump_path" and "sequential" in entry["note"]


def test_end_to_end_is_preferred_and_no_fallback_note_when_it_ran():
    entries = report.ratios(_result(pgloader=30.0, ours_e2e=12.0, ours_dump_path=20.0, guide=60.0))
    for name, value in (("pgloader (d) / ours end to end (c)", 2.5), ("guide / ours end to end (c)", 5.0)):
        entry = next(e for e in entries["employees"] if e["name"] == name)
        assert entry["denominator"] == "ours_e2e" and entry["value"] == pytest.approx(value)
        assert "sequential" not in entry["note"]


def test_qa_ratios_use_end_to_end_and_the_in_database_conversion():
    result = _result(bound=10.0, ours_e2e=15.0, guide_loop=3000.0, ours_convert=10.0)
    result["datasets"]["qa"] = result["datasets"].pop("employees")
    entries = {e["name"]: e for e in report.ratios(result)["qa"]}
    assert entries["ours end to end (c) / bound (embeddings)"]["value"] == pytest.approx(1.5)
    assert entries["ours end to end (c) / bound (embeddings)"]["met"] is True
    assert entries["guide's loop (extrapolated) / ours end to end (c)"]["value"] == pytest.approx(200.0)
    conversion = entries["guide's loop / ours in-database conversion (both extrapolated)"]
    assert conversion["value"] == pytest.approx(300.0) and conversion["met"] is True


@pytest.mark.parametrize(("field_values", "met"), [
    ({"mb_per_s": 31.0, "peak_rss_mb": 199.0}, True),
    ({"mb_per_s": 29.9, "peak_rss_mb": 200.0}, False),
])
def test_single_figures_against_their_goals(field_values, met):
    result = _result(ours_transform_1=5.0, ours_live=None)
    result["datasets"]["employees"]["measurements"]["ours_transform_1"].update(field_values)
    entries = {e["name"]: e for e in report.figures(result)["employees"]}
    assert entries["transform MB/s per core (1 job)"]["met"] is met
    assert entries["transform peak RSS MB (1 job)"]["met"] is met
    live = entries["live path peak RSS MB"]
    assert live["value"] is None and live["met"] is None and "not available" in live["note"]


def test_markdown_reports_every_measurement_and_unavailable_reasons(tmp_path):
    result = _result(bound=10.0, ours_load=None)
    ds = result["datasets"]["employees"]
    ds.update({"status": "ok", "rows_total": 1000, "dump_bytes": 2**20})
    result.update({"mode": "quick", "started_at": "2026-01-01T00:00:00+00:00", "scale": {"runs": 1},
                   "machine": {"nproc": 2, "pgloader": ["pgloader 3.6"]}})
    result["ratios"] = report.ratios(result)
    result["figures"] = report.figures(result)
    paths = report.write(result, str(tmp_path))
    text = (tmp_path / "latest-quick.md").read_text()
    assert "| bound | 10.00 | 1.00x" in text
    assert "| figure (goal from the issues) | value | goal | met | note |" in text
    assert "| ours_load | not available | | | | | | not landed |" in text
    assert all(os.path.exists(p) for p in paths)
    assert result["source_json"] in text


def test_dump_sample_keeps_every_kth_insert_of_each_table(tmp_path):
    path = tmp_path / "dump.sql"
    lines = ["-- header\n", "LOCK TABLES `a` WRITE;\n"]
    lines += ["INSERT INTO `a` VALUES (%d,'x'),(%d,'y');\n" % (i, i) for i in range(20)]
    lines += ["UNLOCK TABLES;\n"] + ["INSERT INTO `b` VALUES\n(%d),\n(%d);\n" % (i, i) for i in range(10)]
    path.write_text("".join(lines))
    sample, rows = bench_run._dump_sample(str(path), 0.2)
    with open(sample) as f:
        text = f.read()
    assert text.count("INSERT INTO `a`") == 4 and text.count("INSERT INTO `b`") == 2
    assert rows == 4 * 2 + 2 * 2
    assert "-- header" in text and "UNLOCK TABLES;" in text and "(0),\n(0);" in text
    assert bench_run._dump_sample(str(path), 1.0) == (str(path), 60)


def test_guide_loop_sql_is_the_guides_conversion():
    sql = bench_run.guide_loop_sql()
    assert sql.startswith("CREATE OR REPLACE FUNCTION json_to_vector_array")
    assert "FOR i IN 0..1535 LOOP" in sql and "UPDATE content_embedding" in sql
    assert sql.rstrip().endswith("DROP FUNCTION json_to_vector_array(TEXT);")


def test_error_kinds_group_psql_errors():
    err = ("psql:f.sql:12: ERROR:  duplicate key value violates unique constraint \"t_pkey\"\n"
           "psql:f.sql:13: ERROR:  duplicate key value violates unique constraint \"t_pkey\"\n"
           "psql:f.sql:40: error: invalid command \\'Brien'\n")
    kinds = bench_run._error_kinds(err)
    assert kinds['duplicate key value violates unique constraint "t_pkey"'] == 2
    assert sum(kinds.values()) == 3


def test_pgloader_credentials_live_in_a_private_file_only(tmp_path):
    lab = Lab.__new__(Lab)
    lab.my = {"user": "u", "password": "my p@ss/word", "host": "127.0.0.1", "port": 3306}
    lab.pg = {"user": "p", "password": "pg:secret", "host": "127.0.0.1", "port": 5432}
    with lab.pgloader_command_file("src", "dst") as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        with open(path) as f:
            text = f.read()
        assert "mysql://u:my%20p%40ss%2Fword@127.0.0.1:3306/src" in text
        assert "postgresql://p:pg%3Asecret@127.0.0.1:5432/dst" in text
        assert "secret" not in path
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))


@pytest.mark.parametrize(("reason", "retry"), [
    ('connection to server at "127.0.0.1", port 5432 failed: FATAL:  the database system is shutting down',
     True),
    ("pgshift load exited 1: server closed the connection unexpectedly", True),
    ("pgshift transform exited 1: dump cut mid-INSERT at byte 1234", False),
    (None, False),
])
def test_only_server_restarts_are_retried(reason, retry):
    assert bench_run._server_went_away(reason) is retry


def test_partial_results_say_so(tmp_path):
    result = _result(bound=10.0)
    result["datasets"]["employees"].update({"status": "ok", "rows_total": 1000, "dump_bytes": 2**20})
    result.update({"mode": "full", "started_at": "2026-01-01T00:00:00+00:00", "scale": {"runs": 3},
                   "machine": {"nproc": 2}, "partial": "after employees: round 1 of 3"})
    result["ratios"] = report.ratios(result)
    report.write(result, str(tmp_path))
    text = (tmp_path / "latest.md").read_text()
    assert "**PARTIAL RESULTS** (written after employees: round 1 of 3" in text
    del result["partial"]
    assert "PARTIAL" not in report.markdown(result)
