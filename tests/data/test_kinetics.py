import pytest

from ctm.data.annotations import class_names, read_annotations
from ctm.data.kinetics import AnnotationError, read_kinetics_csv

HEADER = "label,youtube_id,time_start,time_end,split,is_cc\n"


def write_root(tmp_path, train_rows, val_rows, train_ids, val_ids):
    (tmp_path / "train.csv").write_text(HEADER + "".join(train_rows))
    (tmp_path / "validate.csv").write_text(HEADER + "".join(val_rows))
    (tmp_path / "train_ytid_list.txt").write_text("".join(i + "\n" for i in train_ids))
    (tmp_path / "val_ytid_list.txt").write_text("".join(i + "\n" for i in val_ids))
    return tmp_path


def test_mini_kinetics_join_quoted_labels_and_clip_names(tmp_path):
    root = write_root(
        tmp_path,
        ['"air drumming",--nQbRBEz2s,104,114,train,0\n', "abseiling,abcdefghijk,0,10,train,0\n",
         '"massaging person\'s head",xyzXYZ01234,30,40,train,1\n', "zumba,notinlist0,1,11,train,0\n"],
        ['"air drumming",val00000001,7,17,val,0\n'],
        ["--nQbRBEz2s", "abcdefghijk", "xyzXYZ01234"],
        ["val00000001"],
    )
    df = read_annotations("mini_kinetics_200", root)
    assert list(df["subset"]) == ["train", "train", "train", "val"]
    assert df.loc[0, "video"] == "videos/--nQbRBEz2s_000104_000114.mp4"
    assert class_names(df) == ["abseiling", "air drumming", "massaging person's head"]  # zumba is not joined
    assert df.set_index("youtube_id").loc["val00000001", "label"] == 1


def test_id_missing_from_csvs_names_file_and_line(tmp_path):
    root = write_root(tmp_path, ["abseiling,abcdefghijk,0,10,train,0\n"], [], ["abcdefghijk", "unknown0000"], [])
    with pytest.raises(AnnotationError, match=r"train_ytid_list.txt:2: id 'unknown0000'"):
        read_annotations("mini_kinetics_200", root)


def test_wrong_field_count_names_file_and_line(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(HEADER + "abseiling,abcdefghijk,0,10,train,0\n" + '"air drumming",x,1,train\n')
    with pytest.raises(AnnotationError, match=r"train.csv:3: expected 6 fields"):
        read_kinetics_csv(path)


def test_missing_csv_is_a_clear_error(tmp_path):
    with pytest.raises(AnnotationError, match="Kinetics-400 CSVs"):
        read_annotations("mini_kinetics_200", tmp_path)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="no annotation reader"):
        read_annotations("imagenet", ".")
