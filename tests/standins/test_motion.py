"""The synthetic time-reversal pairs (ctm/standins/motion.py): exact reversal within a pair, continuous motion, and
each object's speed per sampling interval."""

from __future__ import annotations

import numpy as np
import pytest

from ctm.standins.motion import (
    BALL_STEP,
    CLASS_PAIRS,
    DOT_SPACING_PX,
    DOT_STEP,
    HAND_STEP_DEGREES,
    PAIR_HUES,
    RING_SPACING_PX,
    RING_STEP,
    SQUARE_STEP_PX,
    SYNTHETIC_CLASS_NAMES,
    make_scene,
    render_clip,
)

T, H, W = 80, 72, 96
SEEDS = (0, 1, 2, 3)
PAIR_KEYS = ("ball", "dots", "rings", "hand", "square")  # PAIR_HUES key of each pair, in class order


def object_alpha(class_index: int, seed: int) -> np.ndarray:
    """Render class ``class_index`` with ``seed``; estimated object opacity per pixel, float (T, H, W) in [0, 1].

    The renderers draw their scene first, so the same seed redraws the background and object colour.
    """
    clip = render_clip(class_index, np.random.default_rng(seed), T, H, W).astype(np.float64)
    scene = make_scene(np.random.default_rng(seed), H, W, PAIR_HUES[PAIR_KEYS[class_index // 2]])
    direction = scene.colour - scene.background  # (H, W, 3)
    alpha = ((clip - scene.background) * direction).sum(-1) / (direction**2).sum(-1)
    return np.clip(alpha, 0.0, 1.0)


def wrapped(delta: np.ndarray, period: float) -> np.ndarray:
    return (delta + period / 2) % period - period / 2


def circular_mean(profiles: np.ndarray) -> np.ndarray:
    """Centroid of each row of ``profiles`` (N, P) on a circle of P pixels, in pixels (pixel i centred at i + 0.5)."""
    period = profiles.shape[-1]
    angle = np.angle((profiles * np.exp(2j * np.pi * (np.arange(period) + 0.5) / period)).sum(-1))
    return angle / (2 * np.pi) * period


def without_fades(profiles: np.ndarray) -> np.ndarray:
    """Divide the static fades out of 1D profiles (T, P) of a moving periodic pattern, and centre them.

    Where the pattern has opacity w(x), the maximum over time is about w(x) (a clip spans at least 1.5 periods), so
    ``profiles / max`` is the pattern itself. Without this, a correlation would rather match a fully faded-in ring
    with the next one (faded in later) than with its own fainter self.
    """
    window = profiles.max(axis=0)
    keep = window > 0.25 * window.max()
    flat = profiles[:, keep] / window[keep]
    return flat - flat.mean()


def best_shift(before: np.ndarray, after: np.ndarray, max_shift: int) -> np.ndarray:
    """Integer shift s in [-max_shift, max_shift] maximising sum_x before[t, x] * after[t, x + s], per row t."""
    n = before.shape[-1]
    scores = [
        (before[:, max(0, -s) : n - max(0, s)] * after[:, max(0, s) : n - max(0, -s)]).sum(-1)
        for s in range(-max_shift, max_shift + 1)
    ]
    return np.argmax(np.stack(scores, -1), -1) - max_shift


def test_class_names():
    assert len(SYNTHETIC_CLASS_NAMES) == 10 == 2 * len(CLASS_PAIRS) == len(set(SYNTHETIC_CLASS_NAMES))
    assert SYNTHETIC_CLASS_NAMES == sorted(SYNTHETIC_CLASS_NAMES)  # class index = Kinetics' sorted label order
    assert all(" " in name for name in SYNTHETIC_CLASS_NAMES)
    assert any("'" in name for name in SYNTHETIC_CLASS_NAMES) and any("(" in name for name in SYNTHETIC_CLASS_NAMES)
    assert [name.split()[0] for name in SYNTHETIC_CLASS_NAMES[::2]] == ["ball", "dots", "rings", "rotating", "sliding"]
    assert sorted(PAIR_HUES) == sorted(PAIR_KEYS)
    hues = sorted(PAIR_HUES.values())
    assert min(np.diff(hues + [hues[0] + 1.0])) >= 0.15  # well separated on the hue circle


@pytest.mark.parametrize("pair", range(5))
def test_second_member_is_first_reversed_exactly(pair):
    for seed in SEEDS:
        first = render_clip(2 * pair, np.random.default_rng(seed), T, H, W)
        second = render_clip(2 * pair + 1, np.random.default_rng(seed), T, H, W)
        assert first.shape == (T, H, W, 3) and first.dtype == np.uint8
        assert np.array_equal(second, first[::-1])
        # different seeds: different videos (nuisance and phase are random)
        assert not np.array_equal(first, render_clip(2 * pair, np.random.default_rng(seed + 100), T, H, W))


@pytest.mark.parametrize("class_index", range(10))
def test_motion_is_continuous(class_index):
    """No jump anywhere: the object's mass changes little from frame to frame, and no frame-to-frame change stands
    out from the clip's typical one (a sawtooth's reset or a teleport would do both or either)."""
    for seed in SEEDS:
        alpha = object_alpha(class_index, seed)
        mass = alpha.sum((1, 2))
        # rings: up to ~13 % (a ring's mass shrinks with its radius), the others below 2 %; a reset is 50-95 %
        assert np.abs(np.diff(mass)).max() < 0.15 * mass.mean(), np.abs(np.diff(mass)).max() / mass.mean()
        change = np.abs(np.diff(alpha, axis=0)).sum((1, 2))
        assert change.max() < 2.5 * np.median(change), change.max() / np.median(change)


@pytest.mark.parametrize("name", ["sliding square (left to right)", "sliding square (right to left)"])
def test_square_slides_at_its_speed_per_interval(name):
    sign = 1 if name.endswith("(left to right)") else -1
    for seed in SEEDS:
        x = circular_mean(object_alpha(SYNTHETIC_CLASS_NAMES.index(name), seed).sum(axis=1))  # (T,)
        steps = sign * wrapped(x[8:] - x[:-8], W)
        assert steps.min() > SQUARE_STEP_PX[0] - 0.5 and steps.max() < SQUARE_STEP_PX[1] + 0.5, steps


@pytest.mark.parametrize("name", ["rotating clock's hand clockwise", "rotating clock's hand counter-clockwise"])
def test_hand_turns_at_its_speed_per_interval(name):
    sign = 1 if name.endswith(" clockwise") else -1
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    for seed in SEEDS:
        alpha = object_alpha(SYNTHETIC_CLASS_NAMES.index(name), seed)
        pivot = alpha.min(axis=0) > 0.5  # covered in every frame
        px, py = xs[pivot].mean(), ys[pivot].mean()
        moving = alpha - alpha.min(axis=0)
        dx, dy = (moving * (xs - px)).sum((1, 2)), (moving * (ys - py)).sum((1, 2))
        degrees = np.degrees(np.arctan2(dx, -dy))  # 0 at 12 o'clock, growing clockwise (y points down)
        steps = sign * wrapped(degrees[8:] - degrees[:-8], 360.0)
        assert steps.min() > HAND_STEP_DEGREES[0] - 3 and steps.max() < HAND_STEP_DEGREES[1] + 3, steps


@pytest.mark.parametrize("name", ["ball falling", "ball rising"])
def test_ball_moves_vertically_at_its_speed_per_interval(name):
    sign = 1 if name.endswith("falling") else -1  # image y points down
    for seed in SEEDS:
        alpha = object_alpha(SYNTHETIC_CLASS_NAMES.index(name), seed)
        y = circular_mean(alpha.sum(axis=2))  # (T,), wrap-aware centroid over the height
        steps = sign * wrapped(y[8:] - y[:-8], H)
        assert steps.min() > BALL_STEP[0] * H - 0.5 and steps.max() < BALL_STEP[1] * H + 0.5, steps
        x = (alpha * (np.arange(W) + 0.5)).sum((1, 2)) / alpha.sum((1, 2))
        assert np.ptp(x) < 0.5  # no horizontal motion


@pytest.mark.parametrize("name", ["dots converging", "dots diverging"])
def test_dots_move_towards_or_away_from_the_centre(name):
    sign = 1 if name.endswith("converging") else -1  # in the left half, converging dots move right
    max_step = DOT_STEP[1] * DOT_SPACING_PX[1]
    left = int(0.46 * W)  # left of the centre line wherever it is (W/2 +- 4 %)
    for seed in SEEDS:
        alpha = object_alpha(SYNTHETIC_CLASS_NAMES.index(name), seed)
        # where the dots are, whatever their opacity (they fade in and out): a faint dot weighs as much as an opaque one
        dots = (alpha[:, :, :left] > 0.05).sum(axis=1)  # horizontal profile of the left half, (T, left)
        # only shifts below half the smallest spacing: the next dot of the train is a spacing away
        shifts = sign * best_shift(dots[:-8], dots[8:], int(DOT_SPACING_PX[0] / 2))
        assert shifts.min() >= np.floor(DOT_STEP[0] * DOT_SPACING_PX[0]) - 1 and shifts.max() <= max_step + 1, shifts
        rows = alpha.sum(axis=(0, 2))
        assert (rows > 0.01 * rows.max()).sum() < 0.25 * H  # one horizontal row of dots


@pytest.mark.parametrize("name", ["rings contracting", "rings expanding"])
def test_rings_move_inwards_or_outwards(name):
    sign = 1 if name.endswith("expanding") else -1
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    for seed in SEEDS:
        alpha = object_alpha(SYNTHETIC_CLASS_NAMES.index(name), seed)
        mean = alpha.mean(axis=0)  # about radially symmetric: its centroid is the rings' centre
        cx, cy = (mean * xs).sum() / mean.sum(), (mean * ys).sum() / mean.sum()
        radius = np.hypot(xs - cx, ys - cy).astype(int).ravel()  # 1-pixel radial bins
        keep = radius < min(H, W) // 2
        counts = np.bincount(radius[keep])
        profiles = np.stack([np.bincount(radius[keep], a.ravel()[keep]) / counts for a in alpha])  # (T, R)
        rings = without_fades(profiles)
        shifts = sign * best_shift(rings[:-8], rings[8:], int(RING_SPACING_PX[0] / 2))
        assert shifts.min() >= 1 and shifts.max() <= RING_STEP[1] * RING_SPACING_PX[1] + 1, shifts
