"""Annotation files that used to end in a traceback or in silently wrong data (issue 27, item 6): bytes that are not
UTF-8 in class names (written later to the store's manifest), an unterminated CSV quote, absurd window times. Each is
now one line naming the file and line, raised before anything is written."""

import os
from pathlib import Path

import pandas as pd
import pytest
from test_hostile_data import K600_HEADER, k600  # noqa: F401  (one writer of Kinetics-600 CSVs for the tests)

from ctm.acquire.trim import trim_video
from ctm.acquire.youtube import ClipFetchError, fetch_clips
from ctm.data.annotations import read_annotations
from ctm.data.annotations.base import AnnotationError
from ctm.data.decode import decode_dataset


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message and len(message) < 500, message
    return message


# --- bytes that are not UTF-8 ------------------------------------------------------------------------------------

def test_latin1_class_folder_in_ucf101_lists_is_refused_before_decode_writes(tmp_path):
    lists = tmp_path / "ucf" / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_bytes(b"1 Run\r\n2 Caf\xe9\r\n")  # a list re-saved as Latin-1
    (lists / "trainlist01.txt").write_bytes(b"Run/v_Run_g01_c01.avi 1\r\nCaf\xe9/v_Caf\xe9_g01_c01.avi 2\r\n")
    (lists / "testlist01.txt").write_bytes(b"Run/v_Run_g02_c01.avi\r\n")
    with pytest.raises(AnnotationError, match=r"classInd.txt:2: byte 0xe9 is not UTF-8") as err:
        decode_dataset("ucf101", tmp_path / "ucf", tmp_path / "store", progress=False)
    one_line(err)
    assert not (tmp_path / "store").exists()


def test_latin1_class_name_of_an_hmdb51_split_file_is_refused(tmp_path):
    folder = tmp_path / "hmdb" / "testTrainMulti_7030_splits"
    folder.mkdir(parents=True)
    for k in (1, 2, 3):
        for cls in (b"run", b"caf\xe9"):  # a file name that is not UTF-8, as an archive tool may write it
            with open(os.path.join(os.fsencode(folder), cls + b"_test_split%d.txt" % k), "wb") as f:
                f.write(b"a.avi 1\nb.avi 2\n")
    with pytest.raises(AnnotationError, match=r"the class name of 'caf\\udce9_test_split.\.txt' 'caf\\udce9' holds "
                                              r"byte 0xe9, which is not UTF-8") as err:
        decode_dataset("hmdb51", tmp_path / "hmdb", tmp_path / "store", progress=False)
    one_line(err)
    assert not (tmp_path / "store").exists()


# --- an unterminated quote ---------------------------------------------------------------------------------------

def test_unterminated_quote_names_its_line_in_one_short_sentence(tmp_path):
    rows = "".join(f"run,{i:011d},1,11,train\n" for i in range(6000))  # 150 kB after the quote: past csv's limit
    root = k600(tmp_path / "k600", 'run,abcdefghijk,1,11,train\n"jump,bcdefghijkl,1,11,train\n' + rows)
    with pytest.raises(AnnotationError, match=r"train.csv:3: a record that CSV cannot read \(field larger than "
                                              r"field limit \(131072\)\): an unterminated or stray") as err:
        read_annotations("kinetics_600", root)
    one_line(err)


def test_stray_quote_that_closes_later_names_where_it_opened(tmp_path):
    root = k600(tmp_path / "k600", 'run,abcdefghijk,1,11,train\n"jump,bcdefghijkl,1,11,train\nrun",x,1,11,train\n')
    with pytest.raises(AnnotationError, match=r"train.csv:3: a quoted field runs on to line 4"):
        read_annotations("kinetics_600", root)


# --- absurd window times -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("times", "why"), [
    ("1e300,2e300", "is not a Kinetics window"), ("0,100000", "is not a Kinetics window"),
    ("90000,90010", "is not a Kinetics window"),
])
def test_absurd_kinetics_windows_name_the_line(tmp_path, times, why):
    root = k600(tmp_path / "k600", f"run,abcdefghijk,1,11,train\nrun,bcdefghijkl,{times},train\n")
    with pytest.raises(AnnotationError, match=rf"train.csv:3: .*{why}") as err:
        read_annotations("kinetics_600", root)
    one_line(err)


def test_absurd_mini_kinetics_window_names_the_line(tmp_path):
    root = tmp_path / "mk"
    root.mkdir()
    header = "label,youtube_id,time_start,time_end,split,is_cc\n"
    (root / "train.csv").write_text(header + "run,abcdefghijk,1e300,2e300,train,0\n")
    (root / "validate.csv").write_text(header)
    (root / "train_ytid_list.txt").write_text("abcdefghijk\n")
    (root / "val_ytid_list.txt").write_text("")
    with pytest.raises(AnnotationError, match=r"train.csv:2: the window \[1e\+300, 2e\+300\) s is not a Kinetics"):
        read_annotations("mini_kinetics_200", root)


@pytest.mark.parametrize(("start", "end"), [(float("nan"), 10.0), (1e300, 2e300), (5, 3)])
def test_fetch_clips_refuses_a_row_whose_window_is_absurd(tmp_path, start, end):
    rows = pd.DataFrame([{"youtube_id": "abcdefghijk", "video": "videos/a.mp4", "time_start": start,
                          "time_end": end}])
    with pytest.raises(ClipFetchError, match=r"the row of 'abcdefghijk' \(video videos/a.mp4\): "):
        fetch_clips(rows, tmp_path / "root", "file:///nowhere/{youtube_id}.mp4", progress=False)
    assert not (tmp_path / "root").exists()
    with pytest.raises(ValueError, match="need finite 0 <= start < end"):
        trim_video(Path(__file__).parent / "fixtures" / "standin_source.mp4", tmp_path / "clip.mp4", start, end)
    assert not list(tmp_path.iterdir())
