"""The command line's own faults are one line each, never a traceback (issue 27, item 6): out-of-range numbers,
an --out that is a file, a full disk while a run saves its state (nothing half-written is left behind)."""

import errno
import json

import pytest

from ctm.cli import main


@pytest.mark.parametrize("argv, text", [
    (["decode", "--dataset", "ucf101", "--workers", "-1"], "argument --workers: '-1' is not a whole number of 1"),
    (["decode", "--dataset", "ucf101", "--quality", "101"], "argument --quality: '101' is not a whole number from 1"),
    (["download", "u", "--out", "o", "--retries", "-3"], "argument --retries: '-3' is not a whole number of 0"),
    (["download", "u", "--out", "o", "--timeout", "nan"], "argument --timeout: 'nan' is not a number over 0"),
    (["train", "--experiment", "e", "--seed", "-1"], "argument --seed: '-1' is not a whole number of 0"),
    (["predict", "v.mp4", "--checkpoint", "c", "--top", "0"], "argument --top: '0' is not a whole number of 1"),
    (["synth", "--dataset", "ucf101", "--out", "o", "--workers", "x"], "argument --workers: 'x' is not a whole"),
])
def test_out_of_range_numbers_are_one_line(argv, text, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and text in err and "Traceback" not in err


def test_an_out_that_is_a_file_is_one_line(tmp_path, capsys):
    runs = []
    for i in (1, 2):
        path = tmp_path / f"m{i}.json"
        path.write_text(json.dumps({"experiment": f"e{i}", "preset": "p", "top1": 50.0}))
        runs.append(str(path))
    (tmp_path / "file").write_text("")
    assert main(["aggregate", *runs, "--out", str(tmp_path / "file" / "metrics.json")]) == 2
    err = capsys.readouterr().err
    assert f"ctm aggregate: error: {tmp_path / 'file'}" in err and "choose another path" in err
    assert err.count("\n") == 1


def test_a_full_disk_while_saving_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    import ctm.fileio

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(ctm.fileio, "atomic_write", full)
    monkeypatch.setattr("ctm.engine.aggregate.save_json", lambda obj, path: ctm.fileio.atomic_write(path, None))
    runs = []
    for i in (1, 2):
        path = tmp_path / f"m{i}.json"
        path.write_text(json.dumps({"experiment": f"e{i}", "preset": "p", "top1": 50.0}))
        runs.append(str(path))
    assert main(["aggregate", *runs, "--out", str(tmp_path / "out.json")]) == 2
    err = capsys.readouterr().err
    assert "out.json: No space left on device; free some space on that disk, then run the same command again" in err
    assert not (tmp_path / "out.json").exists()


def test_other_os_errors_keep_their_traceback(tmp_path, monkeypatch):
    """An I/O error of the device is not the user's to fix by choosing a path: it is raised, with its traceback."""

    def broken(obj, path):
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr("ctm.engine.aggregate.save_json", broken)
    runs = []
    for i in (1, 2):
        path = tmp_path / f"m{i}.json"
        path.write_text(json.dumps({"experiment": f"e{i}", "preset": "p", "top1": 50.0}))
        runs.append(str(path))
    with pytest.raises(OSError, match="Input/output error"):
        main(["aggregate", *runs, "--out", str(tmp_path / "out.json")])
