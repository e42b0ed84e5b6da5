"""`ctm plan`: the table and --json."""

import json

from ctm import cli
from ctm.commands.plan import render


def test_table_lists_every_stage_total_and_source(capsys):
    assert cli.main(["plan", "--preset", "paper"]) == 0
    out = capsys.readouterr().out
    for stage in ("download kinetics_600", "extract clips mini_kinetics_200", "decode hmdb51",
                  "train kinetics_600", "fine-tune ucf101", "evaluate mini_kinetics_200", "total"):
        assert stage in out
    assert "benchmarks/results/h100-torch2.11/throughput/perf_r50.jsonl" in out and "[13]" in out


def test_json_is_the_plan(capsys):
    assert cli.main(["plan", "--preset", "embedded", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["preset"] == "embedded" and result["total"]["gpu_h"] == 0
    assert render(result).splitlines()[0] == "ctm plan: preset embedded (cpu), seeds [0, 1]"
