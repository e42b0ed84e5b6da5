"""ctm.report imports no torch, not even lazily: in a process where `import torch` fails, every module of ctm.report
imports, the tables come out as in a process with torch (given the networks' costs), and `ctm report --site` runs
(reading every run's predictions.csv and log.jsonl of the 3-seed fixture)."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import ctm.report

REPO = Path(__file__).resolve().parents[2]

# A finder first on sys.meta_path makes `import torch` (and `import torch.nn`, ...) raise ImportError, as where torch
# is not installed. (Not sys.modules["torch"] = None: that puts the name "torch" in sys.modules, which
# ctm.cpu_kernels.pin(), run by the CLI for a CPU preset, takes for torch already imported.)
SCRIPT = """
import importlib, importlib.abc, json, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"no torch in this process: import {name}")
        return None

sys.meta_path.insert(0, NoTorch())
names = sys.argv[1].split(",")
for name in names:
    importlib.import_module(name)
from ctm.cli import main
from ctm.config import load_config
from ctm.report.tables import write_table
params, runs, out, costs = sys.argv[2:6]
cfg, costs = load_config(params), json.loads(costs)
for table in cfg.tables:
    write_table(cfg, table, runs, out, lambda experiment: costs[experiment])
code = main(["report", "--site", "--params", params, "--runs-dir", runs, "--out", out, "--no-progress"])
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules), "torch was imported"
sys.exit(code)
"""


def report_modules() -> list[str]:
    return [f"ctm.report.{m.name}" for m in pkgutil.iter_modules(ctm.report.__path__)]


def test_the_report_needs_no_torch(tiny_cfg, runs, written, cost, tmp_path):
    cfg, params = tiny_cfg
    frames, tables = written
    modules = report_modules()
    assert {m.rsplit(".", 1)[1] for m in modules} == {p.stem for p in Path(ctm.report.__path__[0]).glob("*.py")
                                                      if p.stem != "__init__"}
    needed = {cfg.members(n)[0] for t in cfg.tables.values() for n in t.names()}
    costs = json.dumps({e: cost(e) for e in needed})  # computed here, with torch, as the command layer does
    out = tmp_path / "reports"
    result = subprocess.run([sys.executable, "-c", SCRIPT, ",".join(modules), str(params), str(runs), str(out), costs],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for table in frames:  # the same bytes as write_table's in this process, torch and all
        for ext in ("csv", "md"):
            assert (out / f"{table}.{ext}").read_text() == (tables / f"{table}.{ext}").read_text(), (table, ext)
    assert (out / "index.html").is_file() and (out / "claims.json").is_file()
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["software"]["torch"]  # the installed version, read from its metadata
    assert isinstance(provenance["hardware"]["gpus"], list)
