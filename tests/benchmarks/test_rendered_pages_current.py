"""The committed engineering pages docs/performance.md, docs/rehearsal_run.md and docs/table1_full_size.md are what
their renderers (benchmarks/render/) write from the committed measurements under benchmarks/results/: a new
measurement or a changed renderer must come with the regenerated page."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = "benchmarks/results/h100-torch2.11"


@pytest.mark.parametrize("page, command", [
    ("performance.md", ["-m", "benchmarks.render.performance"]),
    ("rehearsal_run.md", ["-m", "benchmarks.render.rehearsal", "render", "--data", f"{RESULTS}/rehearsal"]),
    ("table1_full_size.md", ["-m", "benchmarks.render.full_size", "render", "--data", f"{RESULTS}/table1_full_size"]),
])
def test_committed_page_equals_its_renderer_output(tmp_path, page, command):
    out = tmp_path / page
    subprocess.run([sys.executable, *command, "--out", str(out)], cwd=ROOT, check=True)
    assert out.read_text() == (ROOT / "docs" / page).read_text(), (
        f"docs/{page} is stale: regenerate it with `python {' '.join(command)}`")
