"""The committed reports/performance.md and reports/rehearsal.md are what their renderers write from the committed
measurements under benchmarks/results/: a new measurement or a changed renderer must come with the regenerated
report."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("report, command", [
    ("performance.md", ["benchmarks/render_performance.py"]),
    ("rehearsal.md", ["benchmarks/render_rehearsal.py", "render", "--data", "benchmarks/results/h100/rehearsal"]),
])
def test_committed_report_equals_its_renderer_output(tmp_path, report, command):
    out = tmp_path / report
    subprocess.run([sys.executable, *command, "--out", str(out)], cwd=ROOT, check=True)
    assert out.read_text() == (ROOT / "reports" / report).read_text(), (
        f"reports/{report} is stale: regenerate it with `python {' '.join(command)}`")
