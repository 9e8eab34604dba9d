"""Benchmark scripts that a test can afford to run: they start, train, predict and report."""

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_accuracy_quick_runs_and_reports_each_configuration(tmp_path):
    out = tmp_path / "accuracy.jsonl"
    done = subprocess.run([sys.executable, "bench/accuracy.py", "--quick", "--configs", "supervised", "semi",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["config"] for row in rows] == ["supervised", "semi"]
    for row in rows:
        assert row["test_px_mean"] > 0 and 0 <= row["test_over_10px"] <= 1 and row["video_temporal_norm_mean"] >= 0
