"""The paper's published numbers, once (Liu et al., "CTM: Collaborative Temporal Modeling for Action Recognition").

Every table, claim, plot, page and test that needs a published value reads it from here; no other file of the
repository may hold one (tests/report/test_paper.py greps for them).

A table is a grid: rows (the paper's row order) x columns (datasets). One-column tables use the column "top1".
Rows of other methods that the paper quotes from the literature are `literature=True`: the report shows them as
"reported" (the paper's value, nothing reproduced). Values are kept as the paper prints them ("78.60", "76.7";
"-" = not reported) so that the report shows the paper's own precision; `PaperRow.number` gives the float.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctm.vocabulary import HMDB51, KINETICS_600, MINI_KINETICS_200, UCF101

TOP1 = "top1"  # the column of one-column tables (ctm.config.Table.cells' default)


@dataclass(frozen=True)
class PaperColumn:
    header: str  # the column's heading in the paper
    dataset: str  # a ctm.vocabulary.DATASETS key
    backbone: str = ""


@dataclass(frozen=True)
class PaperRow:
    label: str  # the row's text in the paper
    values: dict[str, str]  # column key -> top-1 (%) as the paper prints it ("78.60"); "-": not reported
    literature: bool = False  # another method's result quoted by the paper (never reproduced here)
    refs: tuple[int, ...] = ()  # the paper's reference numbers (REFERENCES)
    input: str = ""  # the "input" column of Tables 4 and 5 (RGB)

    def number(self, column: str = TOP1) -> float | None:
        """The published value of `column` as a number; None where the paper prints "-"."""
        text = self.values.get(column, "-")
        return None if text == "-" else float(text)

    @property
    def value(self) -> float | None:
        """The value of a one-column table's row."""
        return self.number(TOP1)


@dataclass(frozen=True)
class PaperTable:
    title: str  # the caption
    metric: str
    columns: dict[str, PaperColumn]
    rows: dict[str, PaperRow]
    note: str = ""  # what a reader should know about the paper's own table

    @property
    def dataset(self) -> str:
        """The dataset of a one-column table."""
        (col,) = self.columns.values()
        return col.dataset


def _one(value: str) -> dict[str, str]:
    return {TOP1: value}


_MK200_R50 = {TOP1: PaperColumn("Val Acc top-1 (%)", MINI_KINETICS_200, "2D ResNet-50")}
_BASELINE_MK200 = "76.76"

PAPER_TABLES: dict[str, PaperTable] = {
    "table1": PaperTable(
        title="Performance comparisons on Mini-Kinetics-200. We add 1 block to Res4 into 2D ResNet-50 backbone.",
        metric="Val Acc top-1 (%)",
        columns=_MK200_R50,
        rows={
            "baseline": PaperRow("baseline", _one(_BASELINE_MK200)),
            "tccm": PaperRow("TCCM + shortcut (Path1 + shortcut)", _one("78.60")),
            "path2": PaperRow("Path 2 + shortcut", _one("78.58")),
            "ctm": PaperRow("CTM (Path1 + Path 2 + shortcut)", _one("78.94")),
        },
    ),
    "table2": PaperTable(
        title="The results of adding the CTM block into different stages. One CTM block is added into different "
              "stages (Res2, Res3, Res4 and Res5) in 2D ResNet-50 backbone",
        metric="Val Acc top-1 (%)",
        columns=_MK200_R50,
        rows={
            "baseline": PaperRow("baseline", _one(_BASELINE_MK200)),
            "res2": PaperRow("Res2", _one("78.87")),
            "res3": PaperRow("Res3", _one("78.79")),
            "res4": PaperRow("Res4", _one("78.94")),
            "res5": PaperRow("Res5", _one("78.07")),
        },
    ),
    "table3": PaperTable(
        title="The results of adding 1, 3, and 6 CTM blocks into Res4 of 2D ResNet-50 backbone.",
        metric="Val Acc top-1 (%)",
        columns=_MK200_R50,
        rows={
            "baseline": PaperRow("baseline", _one(_BASELINE_MK200)),
            "one": PaperRow("+ 1 CTM block", _one("78.94")),
            "three": PaperRow("+ 3 CTM blocks", _one("79.13")),
            "six": PaperRow("+ 6 CTM blocks", _one("79.15")),
        },
        note="The paper's text calls the last row \"five CTM blocks\" but describes six (one after every residual "
             "block of Res4); the table's six is what is reproduced.",
    ),
    "table4": PaperTable(
        title="The results on Kinetics-600. (Val Acc top-1 (%))",
        metric="Acc",
        columns={TOP1: PaperColumn("Acc", KINETICS_600, "2D ResNet-101")},
        rows={
            "tsn_se_resnext152": PaperRow("TSN [5] (SE-ResNeXt152)", _one("76.16"), True, (5,), "RGB"),
            "stnet_se_resnext101": PaperRow("StNet (SE-ResNeXt101) [6]", _one("76.04"), True, (6,), "RGB"),
            "stnet_irv2": PaperRow("StNet (IRv2) [6]", _one("78.99"), True, (6,), "RGB"),
            "lgd_2d": PaperRow("LGD-2D [20]", _one("76.7"), True, (20,), "RGB"),
            "lgd_3d": PaperRow("LGD-3D [20]", _one("78.3"), True, (20,), "RGB"),
            "lgd_3d_long": PaperRow("LGD-3D (Long) [20]", _one("81.5"), True, (20,), "RGB"),
            "d3d": PaperRow("D3D [21]", _one("77.9"), True, (21,), "RGB"),
            "d3d_s3dg": PaperRow("D3D+S3D-G [21]", _one("79.1"), True, (21,), "RGB"),
            "oct_i3d": PaperRow("Oct-I3D [22]", _one("76.0"), True, (22,), "RGB"),
            "ctm": PaperRow("(Our) CTM", _one("78.24"), input="RGB"),
        },
    ),
    "table5": PaperTable(
        title="The results on UCF-101 and HMDB51. (Val Acc top-1 (%))",
        metric="Val Acc top-1 (%), mean of the three splits",
        columns={UCF101: PaperColumn("UCF-101", UCF101, "2D ResNet-101"),
                 HMDB51: PaperColumn("HMDB51", HMDB51, "2D ResNet-101")},
        rows={
            "stnet": PaperRow("StNet [6]", {UCF101: "95.7", HMDB51: "-"}, True, (6,), "RGB"),
            "stm": PaperRow("STM [8]", {UCF101: "96.2", HMDB51: "72.2"}, True, (8,), "RGB"),
            "tsm": PaperRow("TSM [7]", {UCF101: "96.0", HMDB51: "73.6"}, True, (7,), "RGB"),
            "i3d": PaperRow("I3D [16]", {UCF101: "95.6", HMDB51: "74.8"}, True, (16,), "RGB"),
            "r2plus1d": PaperRow("R(2+1)D [2]", {UCF101: "96.8", HMDB51: "74.5"}, True, (2,), "RGB"),
            "s3d_g": PaperRow("S3D-G [3]", {UCF101: "96.8", HMDB51: "75.9"}, True, (3,), "RGB"),
            "ctm": PaperRow("(Our) CTM", {UCF101: "96.9", HMDB51: "74.6"}, input="RGB"),
        },
    ),
    "table6": PaperTable(
        title="Our method consistently outperforms 2D baselines on multiple datasets.",
        metric="Val Acc top-1 (%)",
        columns={KINETICS_600: PaperColumn("Kinetics-600", KINETICS_600, "2D ResNet-101"),
                 UCF101: PaperColumn("UCF-101", UCF101, "2D ResNet-101"),
                 HMDB51: PaperColumn("HMDB51", HMDB51, "2D ResNet-101"),
                 MINI_KINETICS_200: PaperColumn("Mini-Kinetics-200", MINI_KINETICS_200, "2D ResNet-50")},
        rows={
            "baseline": PaperRow("baseline", {KINETICS_600: "75.34", UCF101: "95.5", HMDB51: "69.0",
                                              MINI_KINETICS_200: _BASELINE_MK200}),
            "ctm": PaperRow("(Our) CTM", {KINETICS_600: "78.24", UCF101: "96.9", HMDB51: "74.6",
                                          MINI_KINETICS_200: "79.13"}),
        },
        note="The Mini-Kinetics-200 CTM value is Table 3's three-block network; UCF-101 and HMDB51 are means over "
             "the three official splits.",
    ),
}

# The paper's reference list, for the literature rows (as the paper gives it).
REFERENCES: dict[int, str] = {
    2: 'Du Tran, Heng Wang, Lorenzo Torresani, Jamie Ray, Yann LeCun, and Manohar Paluri, "A closer look at '
       'spatiotemporal convolutions for action recognition," in Proceedings of the IEEE conference on Computer '
       'Vision and Pattern Recognition, 2018, pp. 6450-6459.',
    3: 'Saining Xie, Chen Sun, Jonathan Huang, Zhuowen Tu, and Kevin Murphy, "Rethinking spatiotemporal feature '
       'learning: Speed-accuracy trade-offs in video classification," in Proceedings of the European Conference '
       'on Computer Vision (ECCV), 2018, pp. 305-321.',
    5: 'Limin Wang, Yuanjun Xiong, Zhe Wang, Yu Qiao, Dahua Lin, Xiaoou Tang, and Luc Van Gool, "Temporal segment '
       'networks: Towards good practices for deep action recognition," in European conference on computer vision. '
       'Springer, 2016, pp. 20-36.',
    6: 'Dongliang He, Zhichao Zhou, Chuang Gan, Fu Li, Xiao Liu, Yandong Li, Limin Wang, and Shilei Wen, "Stnet: '
       'Local and global spatial-temporal modeling for action recognition," in Proceedings of the AAAI Conference '
       'on Artificial Intelligence, 2019, vol. 33, pp. 8401-8408.',
    7: 'Ji Lin, Chuang Gan, and Song Han, "Tsm: Temporal shift module for efficient video understanding," in '
       'Proceedings of the IEEE International Conference on Computer Vision, 2019, pp. 7083-7093.',
    8: 'Boyuan Jiang, MengMeng Wang, Weihao Gan, Wei Wu, and Junjie Yan, "Stm: Spatiotemporal and motion encoding '
       'for action recognition," in Proceedings of the IEEE International Conference on Computer Vision, 2019, '
       'pp. 2000-2009.',
    16: 'Joao Carreira and Andrew Zisserman, "Quo vadis, action recognition? a new model and the kinetics dataset," '
        'in proceedings of the IEEE Conference on Computer Vision and Pattern Recognition, 2017, pp. 6299-6308.',
    20: 'Zhaofan Qiu, Ting Yao, Chong-Wah Ngo, Xinmei Tian, and Tao Mei, "Learning spatio-temporal representation '
        'with local and global diffusion," in Proceedings of the IEEE Conference on Computer Vision and Pattern '
        'Recognition, 2019, pp. 12056-12065.',
    21: 'Jonathan C Stroud, David A Ross, Chen Sun, Jia Deng, and Rahul Sukthankar, "D3d: Distilled 3d networks for '
        'video action recognition," arXiv preprint arXiv:1812.08249, 2018.',
    22: 'Yunpeng Chen, Haoqi Fang, Bing Xu, Zhicheng Yan, Yannis Kalantidis, Marcus Rohrbach, Shuicheng Yan, and '
        'Jiashi Feng, "Drop an octave: Reducing spatial redundancy in convolutional neural networks with octave '
        'convolution," arXiv preprint arXiv:1904.05049, 2019.',
}


@dataclass(frozen=True)
class VideoCounts:
    """Videos per subset: the official lists, and what the paper's authors could download (footnote 2).
    UCF-101 / HMDB-51 give one count per official split (`split` -> count); the paper reports nothing missing."""

    train_listed: int | dict[int, int]
    val_listed: int | dict[int, int]
    train_used: int | None = None
    val_used: int | None = None
    per_split: bool = False


PAPER_VIDEO_COUNTS: dict[str, VideoCounts] = {
    # footnote 2: "about 74000 videos in the train set and about 4700 videos in the validation set"
    MINI_KINETICS_200: VideoCounts(train_listed=80000, val_listed=5000, train_used=74000, val_used=4700),
    # section 4.1: 390k train / 30k val; footnote 2: "about 375k ... and about 28700" downloaded
    KINETICS_600: VideoCounts(train_listed=390000, val_listed=30000, train_used=375000, val_used=28700),
    # the official split lists (docs/datasets.md); "val" is each split's test list
    UCF101: VideoCounts(train_listed={1: 9537, 2: 9586, 3: 9624}, val_listed={1: 3783, 2: 3734, 3: 3696},
                          per_split=True),
    HMDB51: VideoCounts(train_listed={1: 3570, 2: 3570, 3: 3570}, val_listed={1: 1530, 2: 1530, 3: 1530},
                          per_split=True),
}


def paper_videos(dataset: str, splits: list[int] | None = None) -> tuple[int | None, int | None]:
    """(train, val) videos the paper used for `dataset`: the downloaded counts where the paper gives them, else the
    official lists; for UCF-101/HMDB-51 summed over `splits` (default: split 1). (None, None) if unknown."""
    counts = PAPER_VIDEO_COUNTS.get(dataset)
    if counts is None:
        return None, None
    if counts.per_split:
        splits = splits or [1]
        return (sum(counts.train_listed[s] for s in splits), sum(counts.val_listed[s] for s in splits))
    return (counts.train_used or counts.train_listed, counts.val_used or counts.val_listed)
