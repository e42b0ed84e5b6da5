"""`dvc exp show` narrowed to what tells experiments apart: the preset, the params whose values differ between the
experiments shown, and the 24 table cells (reports/metrics.json). Plain `dvc exp show` lists every key of params.yaml
(all presets, experiments and tables) and the hash of every stage dependency: ~800 columns. DVC has no setting for
its default columns, so `ctm exp-show` runs it with EXP_SHOW_ARGS (docs/models.md gives the same command by hand).

--only-changed drops each column whose value is the same in every row shown, except the columns that --keep
protects; --drop removes the dependency hashes (paths: their names hold a `/`). A param set with
`dvc exp run -S presets.embedded.recipes.mini_kinetics_200.epochs=9` thus shows as its own column.
"""

from __future__ import annotations

# always shown: the experiment's name and time, the preset and each table cell (`table1.ctm.top1`, ...); DVC prefixes
# a name with its file (`reports/metrics.json:`) only where two files share it
KEEP = r"^(reports/metrics\.json:)?(Experiment|Created|preset|table\d+\..+)$"
DROP = r".*/"  # the dependencies' hashes (code and data paths)
EXP_SHOW_ARGS: tuple[str, ...] = ("--only-changed", "--keep", KEEP, "--drop", DROP)


def exp_show_command(dvc: str = "dvc", extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The `dvc exp show` command line with EXP_SHOW_ARGS, then `extra` (e.g. `--csv`, `-A`, `--md`)."""
    return [dvc, "exp", "show", *EXP_SHOW_ARGS, *extra]
