"""Silent data leaks (issue 27, item 7): a video in both the train and the test set of one split, a duplicated list
line, a Mini-Kinetics id in both id lists, one Kinetics clip under two labels. The readers refuse the leaks with the
files and lines, and use an exact repeat once (an AnnotationWarning names it); never train and test on one video.
The real datasets' quirks still read: UCF-101's and HMDB-51's videos recur across splits, and Kinetics-600 lists a
YouTube video twice with different windows and labels (ActivityNet issue 47: dMzycn1d3qU, 1-11 "weaving fabric",
0-10 "yarn spinning")."""

import warnings

import pytest

from ctm.data.annotations import read_annotations
from ctm.data.annotations.base import AnnotationError, AnnotationWarning


def ucf(root, train="Run/v_Run_g01_c01.avi 1\r\n", test="Run/v_Run_g02_c01.avi\r\n", split=1):
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text("1 Run\r\n2 Walk\r\n")
    (lists / f"trainlist{split:02d}.txt").write_text("Walk/v_Walk_g01_c01.avi 2\r\n" + train)
    (lists / f"testlist{split:02d}.txt").write_text("Walk/v_Walk_g02_c01.avi\r\n" + test)
    return root


def hmdb(root, run_lines="a.avi 1\nb.avi 2\n"):
    folder = root / "testTrainMulti_7030_splits"
    folder.mkdir(parents=True, exist_ok=True)
    for k in (1, 2, 3):
        (folder / f"run_test_split{k}.txt").write_text(run_lines if k == 1 else "a.avi 1\nb.avi 2\n")
        (folder / f"walk_test_split{k}.txt").write_text("c.avi 1 \nd.avi 2 \ne.avi 0 \n")
    return root


K400_HEADER = "label,youtube_id,time_start,time_end,split,is_cc\n"


def mini_kinetics(root, train_ids, val_ids, train_rows="", val_rows=""):
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.csv").write_text(K400_HEADER + "run,aaaaaaaaaaa,1,11,train,0\nwalk,bbbbbbbbbbb,2,12,train,0\n"
                                    + train_rows)
    (root / "validate.csv").write_text(K400_HEADER + "run,ccccccccccc,3,13,val,0\n" + val_rows)
    (root / "train_ytid_list.txt").write_text("".join(i + "\n" for i in train_ids))
    (root / "val_ytid_list.txt").write_text("".join(i + "\n" for i in val_ids))
    return root


K600_HEADER = "label,youtube_id,time_start,time_end,split\n"


def k600(root, train_rows, val_rows=""):
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.csv").write_text(K600_HEADER + "run,aaaaaaaaaaa,1,11,train\nwalk,bbbbbbbbbbb,2,12,train\n"
                                    + train_rows)
    (root / "validate.csv").write_text(K600_HEADER + "run,ccccccccccc,3,13,val\n" + val_rows)
    return root


def read_quietly(dataset, root, split=1):
    with warnings.catch_warnings():
        warnings.simplefilter("error", AnnotationWarning)
        return read_annotations(dataset, root, split)


def test_ucf101_video_in_train_and_test_list_is_refused(tmp_path):
    root = ucf(tmp_path / "ucf", "Run/v_Run_g02_c01.avi 1\r\n", "Run/v_Run_g01_c01.avi\r\n", split=2)  # swapped
    ucf(root)
    assert len(read_quietly("ucf101", root, 1)) == 4 and len(read_quietly("ucf101", root, 2)) == 4  # across splits
    ucf(root, test="Run/v_Run_g01_c01.avi\r\n")
    with pytest.raises(AnnotationError, match=r"trainlist01.txt:2 and .*testlist01.txt:2 both list "
                                              r"'UCF-101/Run/v_Run_g01_c01.avi', as train and as test: testing on a "
                                              r"video trained on inflates"):
        read_annotations("ucf101", root)


def test_ucf101_repeated_line_is_used_once_and_reported(tmp_path):
    root = ucf(tmp_path / "ucf", train="Run/v_Run_g01_c01.avi 1\r\nRun/v_Run_g01_c01.avi 1\r\n")
    with pytest.warns(AnnotationWarning, match=r"1 repeated annotation line\(s\) dropped.*trainlist01.txt:3 repeats "
                                               r".*trainlist01.txt:2"):
        df = read_annotations("ucf101", root)
    assert df["video"].tolist().count("UCF-101/Run/v_Run_g01_c01.avi") == 1 and len(df) == 4


@pytest.mark.parametrize(("lines", "expected"), [
    ("a.avi 1\nb.avi 2\na.avi 2\n", r"run_test_split1.txt:1 and .*run_test_split1.txt:3 both list 'run/a.avi', as "
                                    r"train and as test"),
    ("a.avi 0\nb.avi 2\na.avi 1\n", r"run_test_split1.txt:1 and .*:3 both list 'run/a.avi', as unused \(tag 0\) and "
                                    r"as train"),
])
def test_hmdb51_video_with_two_tags_is_refused(tmp_path, lines, expected):
    assert len(read_quietly("hmdb51", hmdb(tmp_path / "ok"), 2)) == 4  # the same videos in every split: fine
    with pytest.raises(AnnotationError, match=expected):
        read_annotations("hmdb51", hmdb(tmp_path / "hmdb", lines))


def test_hmdb51_repeated_line_is_used_once_and_reported(tmp_path):
    with pytest.warns(AnnotationWarning, match=r"run_test_split1.txt:3 repeats .*run_test_split1.txt:2"):
        df = read_annotations("hmdb51", hmdb(tmp_path / "hmdb", "a.avi 1\nb.avi 2\nb.avi 2\n"))
    assert df["video"].tolist() == ["run/a.avi", "run/b.avi", "walk/c.avi", "walk/d.avi"]


def test_mini_kinetics_id_in_both_lists_is_refused(tmp_path):
    root = mini_kinetics(tmp_path / "mk", ["aaaaaaaaaaa", "bbbbbbbbbbb"], ["ccccccccccc", "bbbbbbbbbbb"])
    with pytest.raises(AnnotationError, match=r"train_ytid_list.txt:2 and .*val_ytid_list.txt:2 both list "
                                              r"'bbbbbbbbbbb', as train and as val"):
        read_annotations("mini_kinetics_200", root)


def test_mini_kinetics_repeated_id_is_used_once_and_reported(tmp_path):
    root = mini_kinetics(tmp_path / "mk", ["aaaaaaaaaaa", "", "aaaaaaaaaaa", "bbbbbbbbbbb"], ["ccccccccccc"])
    with pytest.warns(AnnotationWarning, match=r"train_ytid_list.txt:3 repeats .*train_ytid_list.txt:1"):
        df = read_annotations("mini_kinetics_200", root)
    assert df["youtube_id"].tolist() == ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"]


def test_mini_kinetics_id_with_two_rows_in_the_csvs_is_refused(tmp_path):
    root = mini_kinetics(tmp_path / "mk", ["aaaaaaaaaaa"], ["ccccccccccc"], val_rows="walk,aaaaaaaaaaa,1,11,val,0\n")
    with pytest.raises(AnnotationError, match=r"train_ytid_list.txt:1: id 'aaaaaaaaaaa' has two different rows in "
                                              r"the Kinetics-400 CSVs \(.*train.csv:2 and .*validate.csv:3\)"):
        read_annotations("mini_kinetics_200", root)


@pytest.mark.parametrize(("train", "val", "expected"), [
    ("jump,aaaaaaaaaaa,1,11,train\n", "", r"train.csv:2 and .*train.csv:4 list 'videos/aaaaaaaaaaa_000001_000011.mp4' "
                                          r"under two labels, 'run' and 'jump'"),
    ("", "run,aaaaaaaaaaa,1,11,val\n", r"train.csv:2 and .*validate.csv:3 both list "
                                       r"'videos/aaaaaaaaaaa_000001_000011.mp4', as train and as val"),
])
def test_kinetics_clip_under_two_labels_or_in_both_subsets_is_refused(tmp_path, train, val, expected):
    same_video = "weave,ddddddddddd,1,11,val\nyarn,ddddddddddd,0,10,val\n"  # two windows of one YouTube video
    df = read_quietly("kinetics_600", k600(tmp_path / "ok", "weave,eeeeeeeeeee,5,15,train\n"
                                           "yarn,eeeeeeeeeee,6,16,train\n", same_video))
    assert df.loc[df["youtube_id"] == "ddddddddddd", "label_name"].tolist() == ["weave", "yarn"]
    with pytest.raises(AnnotationError, match=expected):
        read_annotations("kinetics_600", k600(tmp_path / "k600", train, val))


def test_kinetics_repeated_row_is_used_once_and_reported(tmp_path):
    with pytest.warns(AnnotationWarning, match=r"train.csv:4 repeats .*train.csv:2"):
        df = read_annotations("kinetics_600", k600(tmp_path / "k600", "run,aaaaaaaaaaa,1,11,train\n"))
    assert df["video"].tolist() == ["videos/aaaaaaaaaaa_000001_000011.mp4", "videos/bbbbbbbbbbb_000002_000012.mp4",
                                    "videos/ccccccccccc_000003_000013.mp4"]
