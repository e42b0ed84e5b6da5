"""read_annotations / dataset_classes: one contract for the four datasets, from annotation files alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ctm.data import class_names, dataset_classes, read_annotations

UCF = {
    "ucfTrainTestlist/classInd.txt": "1 HammerThrow\r\n2 Hammering\r\n",  # a made-up order: it must be obeyed
    "ucfTrainTestlist/trainlist01.txt": "Hammering/v_Hammering_g08_c01.avi 2\r\n"
                                        "HammerThrow/v_HammerThrow_g09_c01.avi 1",
    "ucfTrainTestlist/testlist01.txt": "HammerThrow/v_HammerThrow_g01_c01.avi\r\n",
    "ucfTrainTestlist/trainlist02.txt": "Hammering/v_Hammering_g01_c01.avi 2\r\n",
    "ucfTrainTestlist/testlist02.txt": "Hammering/v_Hammering_g08_c01.avi\r\nHammerThrow/v_HammerThrow_g09_c01.avi\r\n",
    "ucfTrainTestlist/trainlist03.txt": "Hammering/v_Hammering_g01_c01.avi 2\r\n",
    "ucfTrainTestlist/testlist03.txt": "Hammering/v_Hammering_g15_c01.avi\r\n",
}
HMDB = {
    f"testTrainMulti_7030_splits/{cls}_test_split{k}.txt": f"a_{cls}_{k}.avi 1 \nb_{cls}_{k}.avi 2 \nc_{cls}.avi 0 \n"
    for cls in ("smile", "shoot_bow", "climb") for k in (1, 2, 3)
}
K600 = {
    "train.csv": 'label,youtube_id,time_start,time_end,split\n"air drumming",--nQbRBEz2s,104,114,train\n'
                 "abseiling,-3B32lodo2M,59,69,train\n",
    "validate.csv": "label,youtube_id,time_start,time_end,split\nabseiling,val00000001,0,10,validate\n",
    "test.csv": "youtube_id,time_start,time_end,split\nzzzzzzzzzzz,0,10,test\n",
}
K400_HEADER = "label,youtube_id,time_start,time_end,split,is_cc\n"
MINI = {
    "train.csv": K400_HEADER + '"air drumming",--nQbRBEz2s,104,114,train,0\nabseiling,abcdefghijk,0,10,train,0\n',
    "validate.csv": K400_HEADER + "abseiling,val00000001,7,17,val,0\n",
    "train_ytid_list.txt": "--nQbRBEz2s\nabcdefghijk\n",
    "val_ytid_list.txt": "val00000001\n",
}
# Where each dataset keeps its videos: made *files* here, so any attempt to open or list a video would fail.
VIDEO_PLACES = {"ucf101": ["UCF-101"], "hmdb51": ["smile", "shoot_bow", "climb"], "kinetics_600": ["videos"],
                "mini_kinetics_200": ["videos"]}
FILES = {"ucf101": UCF, "hmdb51": HMDB, "kinetics_600": K600, "mini_kinetics_200": MINI}
CLASSES = {"ucf101": ["HammerThrow", "Hammering"], "hmdb51": ["climb", "shoot_bow", "smile"],
           "kinetics_600": ["abseiling", "air drumming"], "mini_kinetics_200": ["abseiling", "air drumming"]}


def write(root: Path, dataset: str) -> Path:
    for name, text in FILES[dataset].items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode())
    for place in VIDEO_PLACES[dataset]:
        (root / place).write_bytes(b"not a folder of videos")
    return root


@pytest.mark.parametrize("dataset", sorted(FILES))
def test_every_dataset_meets_the_contract_without_touching_videos(tmp_path, dataset):
    df = read_annotations(dataset, write(tmp_path, dataset))
    assert {"video", "label", "label_name", "subset"} <= set(df.columns)
    assert df["label"].dtype == "int64" and df["video"].map(type).eq(str).all()
    assert not df["video"].str.contains(r"\\").any() and not df["video"].str.startswith("/").any()
    assert set(df["subset"]) <= {"train", "val", "test"} and len(df) > 0
    assert class_names(df) == dataset_classes(dataset, tmp_path) == CLASSES[dataset]
    if "kinetics" in dataset:
        assert {"youtube_id", "time_start", "time_end"} <= set(df.columns)
        assert df["time_start"].dtype == df["time_end"].dtype == "int64"


def test_ucf101_and_hmdb51_subsets(tmp_path):
    ucf = read_annotations("ucf101", write(tmp_path / "ucf", "ucf101"), split=2)
    assert list(zip(ucf["video"], ucf["label"], ucf["subset"], strict=True)) == [
        ("UCF-101/Hammering/v_Hammering_g01_c01.avi", 1, "train"),
        ("UCF-101/Hammering/v_Hammering_g08_c01.avi", 1, "test"),
        ("UCF-101/HammerThrow/v_HammerThrow_g09_c01.avi", 0, "test"),
    ]
    hmdb = read_annotations("hmdb51", write(tmp_path / "hmdb", "hmdb51"), split=3)
    assert list(zip(hmdb["video"], hmdb["label"], hmdb["subset"], strict=True)) == [
        ("climb/a_climb_3.avi", 0, "train"), ("climb/b_climb_3.avi", 0, "test"),
        ("shoot_bow/a_shoot_bow_3.avi", 1, "train"), ("shoot_bow/b_shoot_bow_3.avi", 1, "test"),
        ("smile/a_smile_3.avi", 2, "train"), ("smile/b_smile_3.avi", 2, "test"),
    ]


@pytest.mark.parametrize("dataset", ["ucf101", "hmdb51"])
@pytest.mark.parametrize("split", [0, 4, -1, "1", None, 2.5])
def test_split_outside_1_2_3_is_a_value_error_naming_it(tmp_path, dataset, split):
    with pytest.raises(ValueError, match=rf"{dataset}: split must be 1, 2 or 3 .*got {re.escape(repr(split))}"):
        read_annotations(dataset, write(tmp_path, dataset), split=split)


@pytest.mark.parametrize("dataset", ["kinetics_600", "mini_kinetics_200"])
def test_kinetics_ignores_split(tmp_path, dataset):
    root = write(tmp_path, dataset)
    assert read_annotations(dataset, root, split=0).equals(read_annotations(dataset, root, split=1))


def test_unknown_dataset_names_the_available_ones():
    with pytest.raises(ValueError, match=r"no annotation reader for dataset 'ucf-101'; available: \['hmdb51', "):
        read_annotations("ucf-101", ".")
    with pytest.raises(ValueError, match="no annotation reader"):
        dataset_classes("kinetics_400", ".")
