"""`make bench-quick` end to end against the lab: the harness runs every path, prints the table and
writes its JSON. No timing is asserted (shared machines): only that each path ran or says why not,
and that what did run moved every row (the bound and pgloader) or reported what it lost."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def quick(lab, tmp_path_factory):
    results = tmp_path_factory.mktemp("bench-results")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--quick",
                           "--results-dir", str(results)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(results / "latest-quick.json") as f:
        return proc, json.load(f), results


def test_prints_the_table(quick):
    proc, _, _ = quick
    assert "### Benchmark (quick run" in proc.stdout
    assert "| measurement | median s | vs bound |" in proc.stdout
    assert "| ratio (same run) | value | goal | met | note |" in proc.stdout
    assert "#### employees:" in proc.stdout


def test_json_has_machine_facts_and_versions(quick):
    _, result, _ = quick
    mach = result["machine"]
    assert mach["nproc"] >= 1 and mach["memory_gb"] > 0
    assert "MariaDB" in mach["mariadb"] and mach["postgresql"][:2].isdigit()
    assert mach["pgvector"] and mach["python"].startswith("3.")


@pytest.mark.parametrize("dataset", ["employees", "qa"])
def test_every_measurement_ran_or_says_why(quick, dataset):
    _, result, _ = quick
    ds = result["datasets"][dataset]
    if ds["status"] != "ok":
        assert ds["reason"]
        return
    for key, m in ds["measurements"].items():
        assert m["status"] in ("ok", "not available", "skipped", "failed"), key
        if m["status"] == "ok":
            assert m["runs"] and all(r["seconds"] > 0 for r in m["runs"]), key
        else:
            assert m["reason"] and not m["runs"] or m["status"] == "failed", key


@pytest.mark.parametrize("dataset", ["employees", "qa"])
@pytest.mark.parametrize("path", ["bound", "pgloader"])
def test_reference_paths_move_every_row(quick, dataset, path):
    _, result, _ = quick
    ds = result["datasets"][dataset]
    if ds["status"] != "ok":
        pytest.skip("data set %s not available: %s" % (dataset, ds["reason"]))
    m = ds["measurements"][path]
    if m["status"] in ("not available", "skipped"):
        pytest.skip(m["reason"])
    assert m["status"] == "ok", m.get("reason")
    assert m["rows_missing"] == 0
    assert m["runs"][0]["rows_loaded"] == ds["rows_total"]


def test_guide_losses_are_counted_not_hidden(quick):
    _, result, _ = quick
    guide = result["datasets"]["employees"]["measurements"]["guide"]
    assert guide["status"] == "ok"
    run = guide["runs"][0]
    assert run["rows_missing"] == result["datasets"]["employees"]["rows_total"] - run["rows_loaded_in_sample"]
    assert run["rows_missing"] > 0 and run["psql_errors"]  # its regex and \' escapes lose rows


def test_ours_rows_reflect_what_has_landed(quick):
    _, result, _ = quick
    ms = result["datasets"]["employees"]["measurements"]
    for key in ("ours_load", "ours_dump_path", "ours_e2e", "ours_live"):
        m = ms[key]
        if m["status"] == "ok":
            assert m["rows_missing"] == 0, (key, m["runs"])
        elif m["status"] == "not available":
            assert "bin/pgshift" in m["reason"] or "option" in m["reason"]


def test_files_written_and_ratios_consistent(quick):
    _, result, results = quick
    assert (results / "latest-quick.md").read_text().startswith("### Benchmark (quick run")
    for name, entries in result["ratios"].items():
        ms = result["datasets"][name]["measurements"]
        for e in entries:
            if e["value"] is not None:
                num, den = ms[e["numerator"]]["median_seconds"], ms[e["denominator"]]["median_seconds"]
                assert e["value"] == pytest.approx(num / den, rel=1e-2)


@pytest.mark.parametrize("dataset", ["employees", "qa"])
def test_end_to_end_is_migrate_dump_and_feeds_the_ratios(quick, dataset):
    _, result, _ = quick
    ds = result["datasets"][dataset]
    if ds["status"] != "ok":
        pytest.skip("data set %s not available: %s" % (dataset, ds["reason"]))
    e2e = ds["measurements"]["ours_e2e"]
    if e2e["status"] == "not available":
        assert "migrate-dump" in e2e["reason"] or "cli_migrate_dump" in e2e["reason"]
        return
    assert e2e["status"] == "ok" and e2e["rows_missing"] == 0
    assert set(e2e["runs"][0]["phases"]) == {"migrate_dump", "sequences"}
    assert e2e["runs"][0]["pipeline_transform"]["mb_per_s"] > 0
    ratios = [e for e in result["ratios"][dataset] if "end to end (c)" in e["name"]]
    assert ratios and all(e["numerator"] == "ours_e2e" or e["denominator"] == "ours_e2e" for e in ratios)


def test_embeddings_end_as_vectors_and_the_conversion_converts(quick):
    _, result, _ = quick
    ds = result["datasets"]["qa"]
    if ds["status"] != "ok":
        pytest.skip("qa not available: %s" % ds["reason"])
    ms = ds["measurements"]
    for key in ("bound", "ours_e2e", "ours_live"):
        if ms[key]["status"] == "ok":
            assert ms[key]["runs"][0]["embedding_type"] == "vector(%d)" % result["scale"]["qa_dims"], key
    convert = ms["ours_convert"]
    if convert["status"] == "ok":
        run = convert["runs"][0]
        assert 0 < run["converted_in_sample"] <= run["sample_rows"]


def test_figures_have_goals_and_honest_values(quick):
    _, result, _ = quick
    for name, entries in result["figures"].items():
        ms = result["datasets"][name]["measurements"]
        for e in entries:
            m = ms[e["measurement"]]
            assert e["value"] == (m.get(e["field"]) if m["status"] == "ok" else None)
            assert (e["met"] is None) == (e["value"] is None)
