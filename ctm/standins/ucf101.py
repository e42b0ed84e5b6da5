"""Synthetic UCF-101 as crcv.ucf.edu publishes it: ``UCF101.rar`` (videos) and
``UCF101TrainTestSplits-RecognitionTask.zip`` (the three official splits), quirks included.

Inside the archives::

    UCF101.rar    UCF-101/<Class>/v_<FileClass>_g<GG>_c<CC>.avi       (MPEG-4 Part 2 in AVI, FourCC XVID)
    ...zip        ucfTrainTestlist/classInd.txt                       "<1-based label> <Class>" CRLF
                  ucfTrainTestlist/trainlist0{1,2,3}.txt              "<Class>/v_..._gGG_cCC.avi <label>" CRLF
                  ucfTrainTestlist/testlist0{1,2,3}.txt               "<Class>/v_..._gGG_cCC.avi" CRLF

Groups: real UCF-101 has 25 groups per class and split k tests groups 7(k-1)+1..7k (groups 22-25 are always
training). Here each class has ``groups`` groups of ``clips_per_group`` clips; split k tests the block of
``b = max(1, min(round(7 * groups / 25), (groups - 1) // 3))`` groups b(k-1)+1..bk, so the splits test disjoint
groups and the last ``groups - 3b`` (>= 1) groups are always training (``groups`` >= 4).

Quirks of the real files, in miniature: ``classInd.txt`` is in case-insensitive order; the folder
``HandstandPushups`` holds ``v_HandStandPushups_*`` files (the clockwise hand); ``Ballooning``/``BallSinking`` and
``HandstandPushups``/``HandTurningBack`` sort differently case-sensitively (like Hammering/HammerThrow);
``trainlist02.txt`` lacks its final CRLF.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ctm.standins.host_files import DEFAULT_VIDEO, VideoJob, VideoSpec, crlf_lines, encode_videos, write_zip
from ctm.standins.motion import pair_classes
from ctm.standins.rar_writer import write_rar

SEED_TAG = 12
UCF_CLASS_NAMES = (
    "BallSinking", "Ballooning",  # ball falling / rising
    "DotsConverging", "DotsDiverging",
    "RingsContracting", "RingsExpanding",
    "HandstandPushups", "HandTurningBack",  # rotating clock's hand clockwise / counter-clockwise
    "SquareSlidingRight", "SquareSlidingLeft",
)
"""UCF-style folder name of each synthetic class (index as in motion.SYNTHETIC_CLASS_NAMES)."""
FILE_CLASS_NAMES = {"HandstandPushups": "HandStandPushups"}
"""Folders whose video files spell the class differently, as in the real UCF-101."""
RAR_NAME = "UCF101.rar"
SPLITS_ZIP = "UCF101TrainTestSplits-RecognitionTask.zip"
LIST_DIR = "ucfTrainTestlist"
NO_FINAL_NEWLINE = "trainlist02.txt"


def tested_groups(groups: int, split: int) -> range:
    """1-based groups tested by ``split`` (1-3) when each class has ``groups`` groups."""
    block = max(1, min(round(7 * groups / 25), (groups - 1) // 3))
    return range(block * (split - 1) + 1, block * split + 1)


def write_ucf101(
    out: Path,
    *,
    pairs: Sequence[str],
    seed: int,
    workers: int,
    progress: bool,
    groups: int = 5,
    clips_per_group: int = 4,
    video: VideoSpec = DEFAULT_VIDEO,
) -> tuple[dict, list[str]]:
    """Write UCF101.rar and the splits zip into ``out``; returns (summary, names of the files for SHA256SUMS).

    Video g, c of synthetic class k is rendered from ``default_rng([seed, 12, k, g, c])``.
    """
    if clips_per_group < 1 or groups < 4:
        raise ValueError(f"UCF-101 needs groups >= 4 (got {groups}) and clips_per_group >= 1 (got {clips_per_group})")
    classes = pair_classes(pairs)
    folder = {c: UCF_CLASS_NAMES[c] for c in classes}
    order = sorted(classes, key=lambda c: folder[c].lower())  # classInd: case-insensitive order
    label = {c: i + 1 for i, c in enumerate(order)}
    work = out / ".work"
    videos: list[tuple[int, int, str]] = []  # (class, group, path inside UCF-101/)
    jobs = []
    for c in order:
        stem = FILE_CLASS_NAMES.get(folder[c], folder[c])
        for g in range(1, groups + 1):
            for k in range(1, clips_per_group + 1):
                name = f"{folder[c]}/v_{stem}_g{g:02d}_c{k:02d}.avi"
                videos.append((c, g, name))
                jobs.append(VideoJob(str(work / "UCF-101" / name), c, (seed, SEED_TAG, c, g, k), video))
    encode_videos(jobs, workers=workers, progress=progress, desc="ucf101 videos")

    lists: dict[str, bytes] = {"classInd.txt": crlf_lines([f"{label[c]} {folder[c]}" for c in order])}
    summary: dict = {"classes": [folder[c] for c in order], "videos": len(videos), "splits": {}}
    for split in (1, 2, 3):
        tested = tested_groups(groups, split)
        train = [f"{name} {label[c]}" for c, g, name in videos if g not in tested]
        test = [name for c, g, name in videos if g in tested]
        for kind, lines in (("train", train), ("test", test)):
            file_name = f"{kind}list0{split}.txt"
            lists[file_name] = crlf_lines(lines, final_newline=file_name != NO_FINAL_NEWLINE)
        summary["splits"][split] = {"train": len(train), "test": len(test), "test_groups": list(tested)}
    write_zip(out / SPLITS_ZIP, [(f"{LIST_DIR}/", None)] + [(f"{LIST_DIR}/{n}", lists[n]) for n in sorted(lists)])

    # Folders and files in case-insensitive order, as a Windows directory listing gives them.
    entries: list[tuple[str, bytes | Path]] = [("UCF-101/", b"")]
    for c in order:
        entries.append((f"UCF-101/{folder[c]}/", b""))
        names = sorted((name for cc, _, name in videos if cc == c), key=str.lower)
        entries += [(f"UCF-101/{name}", work / "UCF-101" / name) for name in names]
    write_rar(out / RAR_NAME, entries)
    return summary, [RAR_NAME, SPLITS_ZIP]
