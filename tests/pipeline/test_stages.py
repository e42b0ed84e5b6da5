"""Every stage's command (ctm.pipeline.stages) is one that `ctm` parses, and the workflow's rules take their commands
from it rather than writing their own."""

import re
import shlex
from pathlib import Path

import pytest

from ctm import cli
from ctm.pipeline import stages

REPO = Path(__file__).resolve().parents[2]

COMMANDS = {
    "synth": stages.synth(dataset="ucf101", preset="embedded", out="remote/ucf101", workers="2"),
    "prepare": stages.prepare(dataset="ucf101", preset="embedded"),
    "download": stages.download(urls="file:///a.zip file:///b.zip", out="downloads/a.zip", checks="--size 3"),
    "extract": stages.extract(archive="downloads/a.zip", out="ucf101", flags="--strip-components 1"),
    "fetch_clips": stages.fetch_clips(dataset="kinetics_600", root="k600", url_template="file:///{youtube_id}.mp4",
                                      workers="8", pace="--per-hour 250 --stop-after-blocks 20",
                                      source_cache="sources"),
    "fetch_shard_list": stages.fetch_shard_list(dataset="kinetics_600", preset="embedded", subset="train"),
    "fetch_shard": stages.fetch_shard(dataset="kinetics_600", preset="embedded", subset="val", index="3"),
    "clips_manifest": stages.clips_manifest(dataset="kinetics_600", preset="embedded"),
    "link_clips": stages.link_clips(dataset="kinetics_600", preset="embedded"),
    "decode": stages.decode(dataset="ucf101", preset="embedded", root="ucf101", out="store", workers="2"),
    "standin_weights": stages.standin_weights(backbone="resnet50", width="0.25", out="weights"),
    "train": stages.train(experiment="k600_r50_tsn", seed="0", preset="embedded", root="k600", store="store",
                          init="--init-checkpoint parent/checkpoint.pt", out="run"),
    "evaluate": stages.evaluate(experiment="k600_r50_tsn", preset="embedded", root="k600", store="store",
                                run_dir="run"),
    "aggregate": stages.aggregate(cell="k600_r50_tsn", preset="embedded"),
    "report_table": stages.report_table(table="table1", preset="embedded", out="reports", archive="tables"),
}


@pytest.mark.parametrize("stage", sorted(COMMANDS))
def test_each_stage_command_is_one_that_ctm_parses(stage):
    words = shlex.split(COMMANDS[stage])
    assert words[0] == "ctm"
    args = cli.build_parser().parse_args(words[1:])
    assert args.verb == words[1]


def test_site_command_logs_only_the_report_and_copies_the_figures():
    cmd = stages.report_site(preset="embedded", out="reports", tables="tables", logs="logs", figures="reports/figures",
                             index="reports/index.html", log="site.log")
    site, *rest = cmd.split(" && ")
    assert site.endswith(" > site.log 2>&1")
    cli.build_parser().parse_args(shlex.split(site.removesuffix(" > site.log 2>&1"))[1:])
    assert rest == ["rm -rf tables/figures", "cp -r reports/figures reports/index.html tables/"]


def test_a_log_takes_stdout_and_stderr():
    assert stages.aggregate(cell="c", preset="p", log="a.log") == "ctm aggregate --cell c --preset p > a.log 2>&1"


def test_train_without_init_has_no_init_option_and_takes_a_launcher():
    cmd = stages.train(experiment="e", seed="1", preset="p", root="r", store="s", out="o",
                       launcher="torchrun -m ctm.cli")
    assert cmd == "torchrun -m ctm.cli train --experiment e --seed 1 --preset p --root r --store s --out o --threads 1"


def test_the_rules_run_only_stage_commands():
    """Each rule's `shell:` calls a function of ctm.pipeline.stages (place_file's plain `cp` aside)."""
    shells = []
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = smk.read_text()
        shells += [(smk.name, command) for _, command in re.findall(r"\n( +)shell:\n\1    (.+)", text)]
        assert '"ctm ' not in text and "{params.launcher} train" not in text, smk.name
    assert len(shells) >= 15
    for smk, command in shells:
        assert command.startswith("stages.") or command.startswith('"cp '), (smk, command)
