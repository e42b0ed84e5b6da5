import pytest

from ctm.data.annotations import class_names, read_annotations
from ctm.data.annotations.base import AnnotationError
from ctm.data.annotations.kinetics import read_kinetics_csv

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


def test_missing_id_list_names_its_source(tmp_path):
    root = write_root(tmp_path, ["abseiling,abcdefghijk,0,10,train,0\n"], [], ["abcdefghijk"], [])
    (root / "val_ytid_list.txt").unlink()
    with pytest.raises(AnnotationError, match=r"val_ytid_list.txt: not found; it comes from .*s9xie/Mini-Kinetics-200"):
        read_annotations("mini_kinetics_200", root)


# --- Kinetics-600: train.csv / validate.csv / test.csv as kinetics600.tar.gz extracts them -------------------------

K600_HEADER = "label,youtube_id,time_start,time_end,split\n"
K600_TRAIN = [
    '"air drumming",--nQbRBEz2s,104,114,train\n',
    "abseiling,-3B32lodo2M,59,69,train\n",
    "washing feet,--GkrdYZ9Tc,0,10,train\n",  # some official copies leave multi-word labels unquoted
    '"massaging person\'s head",_dbcJuKJQNs,40,50,train\n',
    "zumba,abcdefghijk,0,10,train\n",
    '"air drumming",klmnopqrstu,7,17,train\n',
]
K600_VAL = ['"massaging person\'s head",val00000001,30,40,validate\n', "zumba,val00000002,1,11,validate\n"]


def write_k600(root, train=K600_TRAIN, val=K600_VAL):
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.csv").write_bytes((K600_HEADER + "".join(train)).encode())
    (root / "validate.csv").write_bytes((K600_HEADER + "".join(val)).encode())
    # No labels, and a row no parser accepts: reading it would fail the tests below.
    (root / "test.csv").write_bytes(b"youtube_id,time_start,time_end,split\nxxxxxxxxxxx,0,10,test\nbroken\n")
    return root


def test_kinetics_600_quoted_labels_dash_ids_and_clip_paths(tmp_path):
    df = read_annotations("kinetics_600", write_k600(tmp_path / "k600"))
    assert class_names(df) == ["abseiling", "air drumming", "massaging person's head", "washing feet", "zumba"]
    assert list(df.columns) == ["video", "label", "label_name", "subset", "youtube_id", "time_start", "time_end"]
    first = df.iloc[0]
    assert (first["youtube_id"], first["label"], first["label_name"]) == ("--nQbRBEz2s", 1, "air drumming")
    assert first["video"] == "videos/--nQbRBEz2s_000104_000114.mp4"
    assert df.set_index("youtube_id").loc["-3B32lodo2M", "video"] == "videos/-3B32lodo2M_000059_000069.mp4"
    assert list(df["subset"]) == ["train"] * 6 + ["val"] * 2
    assert list(df.loc[df["subset"] == "val", "label"]) == [2, 4]
    assert df.set_index("youtube_id").loc["--GkrdYZ9Tc", "label_name"] == "washing feet"
    for column in ("label", "time_start", "time_end"):
        assert df[column].dtype == "int64"
    assert not (tmp_path / "k600" / "videos").exists()


def test_kinetics_600_ignores_split(tmp_path):
    root = write_k600(tmp_path / "k600")
    assert read_annotations("kinetics_600", root, split=3).equals(read_annotations("kinetics_600", root))


def test_kinetics_600_val_label_not_in_train_names_file_and_line(tmp_path):
    root = write_k600(tmp_path / "k600", val=[K600_VAL[0], '"playing ukulele",val00000003,0,10,validate\n'])
    with pytest.raises(AnnotationError, match=r"validate.csv:3: label 'playing ukulele' is not one of the 5 labels"):
        read_annotations("kinetics_600", root)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("abseiling,zzzzzzzzzzz,0,10\n", r"train.csv:4: expected 5 fields"),
        ('"air drumming",zzzzzzzzzzz,0,10,train,0\n', r"train.csv:4: expected 5 fields"),
        ("abseiling,zzzzzzzzzzz,zero,10,train\n", r"train.csv:4: time_start/time_end are not finite numbers"),
        (",zzzzzzzzzzz,0,10,train\n", r"train.csv:4: empty label"),
    ],
)
def test_kinetics_600_malformed_rows_name_file_and_line(tmp_path, row, message):
    root = write_k600(tmp_path / "k600", train=[*K600_TRAIN[:2], row, *K600_TRAIN[2:]])
    with pytest.raises(AnnotationError, match=message):
        read_annotations("kinetics_600", root)


@pytest.mark.parametrize("name", ["train.csv", "validate.csv"])
def test_kinetics_600_missing_csv_names_the_download(tmp_path, name):
    root = write_k600(tmp_path / "k600")
    (root / name).unlink()
    with pytest.raises(AnnotationError, match=rf"{name}: not found; it comes from .*kinetics600.tar.gz"):
        read_annotations("kinetics_600", root)
