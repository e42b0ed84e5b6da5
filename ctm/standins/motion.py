"""Rendering of the synthetic time-reversal class pairs (see docs/synthetic_data.md).

Every pair is one stationary periodic process: the frame at time t is a function of the static per-video
nuisance (background, colours, sizes, positions) and of the phase ``(phase0 + speed * t) mod 1`` only, with
``phase0 ~ U[0, 1)``. The first class of a pair is that process as rendered, the second class is the very same
rendering reversed in time, so both members have identical per-frame (and sampled-frame-set) distributions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_INTERVAL = 8
"""Frame interval of the sampled clips (8 frames at o, o+8, ..., o+56); speeds are given per interval."""

SQUARE_STEP_PX = (8.0, 16.0)
"""Sliding square: horizontal move per sampled interval, in pixels at width 96 (scaled with the width)."""

HAND_STEP_DEGREES = (25.0, 50.0)
"""Rotating hand: turn per sampled interval, in degrees."""

BALL_STEP = (0.09, 0.18)
"""Falling ball: vertical move per sampled interval, as a fraction of the height (the period of the wrap-around)."""

DOT_SPACING_PX = (18.0, 26.0)
"""Converging dots: distance between neighbouring dots of the row, in pixels at width 96 (scaled with the width)."""

DOT_STEP = (0.15, 0.30)
"""Converging dots: move of every dot per sampled interval, as a fraction of the dot spacing (the period)."""

RING_SPACING_PX = (18.0, 26.0)
"""Contracting rings: distance between neighbouring rings, in pixels at width 96 (scaled with the width)."""

RING_STEP = (0.15, 0.30)
"""Contracting rings: inward move per sampled interval, as a fraction of the ring spacing (the period)."""

PAIR_HUES = {"ball": 0.0, "hand": 0.2, "square": 0.4, "rings": 0.6, "dots": 0.8}
"""Object hue of each pair (HSV, jittered by +-HUE_JITTER per video): a frame-level cue to the pair, so that a small
2D network trained from scratch recognises the pair quickly and the within-pair (temporal) decision is what is left."""

HUE_JITTER = 0.04


@dataclass(frozen=True)
class Scene:
    """Static per-video appearance: ``background`` float32 (H, W, 3) and object ``colour`` float32 (3,)."""

    background: np.ndarray
    colour: np.ndarray

    def composite(self, alpha: np.ndarray) -> np.ndarray:
        """Blend the object colour over the background with ``alpha`` (T, H, W) in [0, 1]; uint8 (T, H, W, 3)."""
        frames = (self.colour - self.background) * alpha[..., None].astype(np.float32)
        frames += self.background + 0.5  # + 0.5 then truncation rounds to nearest
        return np.clip(frames, 0.0, 255.0, out=frames).astype(np.uint8)


def _upsample_bilinear(coarse: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly resize ``coarse`` (h, w, C) with h, w >= 2 to (height, width, C)."""
    gh, gw = coarse.shape[:2]
    y = np.linspace(0.0, gh - 1.0, height)
    x = np.linspace(0.0, gw - 1.0, width)
    y0 = np.minimum(np.floor(y).astype(int), gh - 2)
    x0 = np.minimum(np.floor(x).astype(int), gw - 2)
    fy = (y - y0)[:, None, None]
    fx = (x - x0)[None, :, None]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def make_scene(
    rng: np.random.Generator,
    height: int,
    width: int,
    hue: float,
    background_range: tuple[float, float] = (20.0, 130.0),
    min_contrast: float = 110.0,
) -> Scene:
    """Draw a background colour plus a static smooth random texture, and a saturated object colour of about `hue`
    (HSV, in [0, 1)) far from the background."""
    base = rng.uniform(*background_range, size=3)
    texture = _upsample_bilinear(rng.standard_normal((4, 5, 3)), height, width) * rng.uniform(6.0, 18.0)
    colour = _object_colour(rng, hue)
    for _ in range(100):  # rejection sampling; deterministic given the rng
        if np.linalg.norm(colour - base) >= min_contrast:
            break
        colour = _object_colour(rng, hue)
    background = np.clip(base + texture, 0.0, 255.0)
    # contiguous: the (H, W, 3) upsampling's layout is transposed, which makes `composite` several times slower
    return Scene(np.ascontiguousarray(background, dtype=np.float32), colour.astype(np.float32))


def _object_colour(rng: np.random.Generator, hue: float) -> np.ndarray:
    """RGB (3,) in [0, 255] of hue `hue` +- HUE_JITTER, saturation 0.7-1, value 0.85-1."""
    h = (hue + rng.uniform(-HUE_JITTER, HUE_JITTER)) % 1.0
    s, v = rng.uniform(0.7, 1.0), rng.uniform(0.85, 1.0)
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0  # HSV -> RGB, vectorised over the three channels
    return 255.0 * v * (1.0 - s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0))


def _phases(rng: np.random.Generator, num_frames: int, step_per_interval: float) -> np.ndarray:
    """Phase in [0, 1) of each frame, shape (T,): uniform random start, constant speed ``step/interval``."""
    phase0 = rng.uniform(0.0, 1.0)
    t = np.arange(num_frames, dtype=np.float64)
    phase = ((phase0 + t * step_per_interval / SAMPLE_INTERVAL) % 1.0).astype(np.float32)
    return np.mod(phase, np.float32(1.0))  # float32 rounding can turn 0.99999999 into 1.0


def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates: ys (1, H, 1) and xs (1, 1, W), float32."""
    ys = np.arange(height, dtype=np.float32)[None, :, None] + 0.5
    xs = np.arange(width, dtype=np.float32)[None, None, :] + 0.5
    return ys, xs


def _coverage(signed_distance: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from a signed distance in pixels (negative inside); same shape."""
    return np.clip(0.5 - signed_distance, 0.0, 1.0)


def render_sliding_square(rng: np.random.Generator, num_frames: int, height: int, width: int) -> np.ndarray:
    """Square moving right by 8-16 px (at width 96) per sampled interval, wrapping around; uint8 (T, H, W, 3)."""
    scene = make_scene(rng, height, width, PAIR_HUES["square"])
    half = rng.uniform(0.08, 0.13) * height
    cy = rng.uniform(half + 1.0, height - half - 1.0)
    step = rng.uniform(*SQUARE_STEP_PX) / 96.0  # fraction of the width (the period)
    cx = _phases(rng, num_frames, step)[:, None, None] * width  # (T, 1, 1)
    ys, xs = _pixel_grid(height, width)
    dx = (xs - cx + width / 2) % width - width / 2  # periodic horizontal offset, (T, 1, W)
    signed_distance = np.maximum(np.abs(dx), np.abs(ys - cy)) - half
    return scene.composite(_coverage(signed_distance))


def render_rotating_hand(rng: np.random.Generator, num_frames: int, height: int, width: int) -> np.ndarray:
    """Clock hand (bar + knob at the tip) turning clockwise by 25-50 degrees per interval; uint8 (T, H, W, 3)."""
    scene = make_scene(rng, height, width, PAIR_HUES["hand"])
    size = min(height, width)
    cx = width / 2 + rng.uniform(-0.05, 0.05) * width
    cy = height / 2 + rng.uniform(-0.05, 0.05) * height
    length = rng.uniform(0.28, 0.36) * size
    half_thickness = rng.uniform(0.017, 0.028) * size
    knob_radius = rng.uniform(0.05, 0.07) * size
    step = rng.uniform(*HAND_STEP_DEGREES) / 360.0
    angle = 2 * np.pi * _phases(rng, num_frames, step)[:, None, None]  # (T, 1, 1), 0 = 12 o'clock
    ux, uy = np.sin(angle), -np.cos(angle)  # image y points down, so growing angle turns clockwise
    ys, xs = _pixel_grid(height, width)
    rx, ry = xs - cx, ys - cy
    along = np.clip(rx * ux + ry * uy, 0.0, length)  # (T, H, W)
    bar = np.hypot(rx - along * ux, ry - along * uy) - half_thickness
    knob = np.hypot(rx - length * ux, ry - length * uy) - knob_radius
    pivot = np.hypot(rx, ry) - 1.5 * half_thickness
    return scene.composite(_coverage(np.minimum(np.minimum(bar, knob), pivot)))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    """0 for x <= 0, 1 for x >= 1, 3x^2 - 2x^3 in between: a C1 ramp for the fades; same shape."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def render_falling_ball(rng: np.random.Generator, num_frames: int, height: int, width: int) -> np.ndarray:
    """Ball moving down by 9-18 % of the height per interval, leaving the bottom and re-entering at the top."""
    scene = make_scene(rng, height, width, PAIR_HUES["ball"])
    radius = rng.uniform(0.08, 0.12) * height
    cx = rng.uniform(radius + 1.0, width - radius - 1.0)
    cy = _phases(rng, num_frames, rng.uniform(*BALL_STEP))[:, None, None] * height  # (T, 1, 1)
    ys, xs = _pixel_grid(height, width)
    dy = (ys - cy + height / 2) % height - height / 2  # periodic vertical offset, (T, H, 1)
    return scene.composite(_coverage(np.hypot(xs - cx, dy) - radius))


def render_converging_dots(rng: np.random.Generator, num_frames: int, height: int, width: int) -> np.ndarray:
    """Horizontal row of dots moving towards a vertical centre line from both sides, 15-30 % of the spacing per
    interval; each dot fades in near the image edge and fades out as it reaches the centre line."""
    scene = make_scene(rng, height, width, PAIR_HUES["dots"])
    spacing = rng.uniform(*DOT_SPACING_PX) * width / 96.0
    radius = rng.uniform(0.17, 0.22) * spacing
    cx = width / 2 + rng.uniform(-0.04, 0.04) * width
    cy = height / 2 + rng.uniform(-0.12, 0.12) * height
    fade = 0.5 * spacing
    # Opacity of a dot by the distance of its centre from the line: rises from 0 (dot touching the line) to 1 over
    # `fade`, falls back to 0 over `fade` starting a whole number n of spacings later, before the dot reaches the
    # image edge. Since smoothstep(x) + smoothstep(1 - x) = 1, the opacities of the dots on a side always sum to n:
    # the object's total mass is constant while dots fade in and out.
    reach = min(cx, width - cx) - radius - 1.0  # a dot centre this far from the line touches the image edge
    n = max(1, int((reach - radius - fade) // spacing))
    phase = _phases(rng, num_frames, rng.uniform(*DOT_STEP))[:, None, None]  # (T, 1, 1)
    ys, xs = _pixel_grid(height, width)
    # Distance to the centre line in units of the spacing; dot centres at d = k + 1/2 - phase (k integer), so
    # they approach the line as the phase grows. ``offset`` is the signed distance to the nearest dot centre.
    d = np.abs(xs - cx) / spacing  # (1, 1, W)
    offset = ((d + phase) % 1.0 - 0.5) * spacing  # (T, 1, W)
    centre = np.abs(xs - cx) - offset  # distance of that dot's centre from the line, in pixels
    opacity = _smoothstep((centre - radius) / fade) - _smoothstep((centre - radius - n * spacing) / fade)
    return scene.composite(_coverage(np.hypot(offset, ys - cy) - radius) * opacity)


def render_contracting_rings(rng: np.random.Generator, num_frames: int, height: int, width: int) -> np.ndarray:
    """Concentric soft rings inside a disc, moving inwards by 15-30 % of their spacing per interval; they fade in at
    the disc's rim and fade out at its centre."""
    scene = make_scene(rng, height, width, PAIR_HUES["rings"])
    size = min(height, width)
    spacing = rng.uniform(*RING_SPACING_PX) * width / 96.0
    outer = rng.uniform(0.40, 0.44) * size
    cx = width / 2 + rng.uniform(-1.0, 1.0) * max(0.0, min(0.04 * width, width / 2 - outer - 1.0))
    cy = height / 2 + rng.uniform(-1.0, 1.0) * max(0.0, min(0.04 * height, height / 2 - outer - 1.0))
    phase = _phases(rng, num_frames, rng.uniform(*RING_STEP))[:, None, None]  # (T, 1, 1)
    ys, xs = _pixel_grid(height, width)
    r = np.hypot(xs - cx, ys - cy)[0]  # (H, W)
    window = _smoothstep((outer - r) / (0.4 * spacing)) * _smoothstep(r / (0.4 * spacing))
    # Ring crests where r / spacing + phase is an integer: they move inwards as the phase grows. The clipped
    # cosine gives rings half a spacing wide at half opacity, opaque over 0.37 of it, with soft edges (opacity
    # changes by at most 2.5 pi / spacing < 0.45 per pixel: anti-aliased).
    angle = (2 * np.pi / spacing) * r
    cos_r, sin_r = (np.cos(angle) * window)[None], (np.sin(angle) * window)[None]
    cos_p, sin_p = np.cos(2 * np.pi * phase), np.sin(2 * np.pi * phase)
    profile = 0.5 * window[None] + 1.25 * (cos_r * cos_p - sin_r * sin_p)  # window * (0.5 + 1.25 cos(...))
    return scene.composite(np.clip(profile, 0.0, window[None]))


Renderer = Callable[[np.random.Generator, int, int, int], np.ndarray]


@dataclass(frozen=True)
class ClassPair:
    """A process (``renderer(rng, T, H, W) -> uint8 (T, H, W, 3)``) labelled ``forward`` and its reversal."""

    key: str  # short name used in params.yaml (`synthetic.pairs`)
    forward: str
    reverse: str
    renderer: Renderer


CLASS_PAIRS: tuple[ClassPair, ...] = (
    ClassPair("ball", "ball falling", "ball rising", render_falling_ball),
    ClassPair("dots", "dots converging", "dots diverging", render_converging_dots),
    ClassPair("rings", "rings contracting", "rings expanding", render_contracting_rings),
    ClassPair(
        "hand", "rotating clock's hand clockwise", "rotating clock's hand counter-clockwise", render_rotating_hand
    ),
    ClassPair("square", "sliding square (left to right)", "sliding square (right to left)", render_sliding_square),
)
"""The 5 pairs; class ``2 * p`` is pair p's process, class ``2 * p + 1`` its time reversal."""

SYNTHETIC_CLASS_NAMES: list[str] = [name for pair in CLASS_PAIRS for name in (pair.forward, pair.reverse)]
"""The 10 labels in class order (which is also their sorted order)."""


PAIR_KEYS: tuple[str, ...] = tuple(pair.key for pair in CLASS_PAIRS)


def pair_classes(pairs: Sequence[str]) -> list[int]:
    """Class indices (into SYNTHETIC_CLASS_NAMES) of the pairs named by key, in class order."""
    unknown = [p for p in pairs if p not in PAIR_KEYS]
    if unknown or not pairs:
        raise ValueError(f"synthetic pairs must be a non-empty subset of {PAIR_KEYS}, got {list(pairs)}")
    return [c for p, key in enumerate(PAIR_KEYS) if key in pairs for c in (2 * p, 2 * p + 1)]


def render_clip(class_index: int, rng: np.random.Generator, num_frames: int, height: int, width: int) -> np.ndarray:
    """Render one clip of class ``class_index`` (0-9) as uint8 (T, H, W, 3) RGB.

    Odd classes are the even class's rendering with the same random draws, reversed in time.
    """
    if not 0 <= class_index < len(SYNTHETIC_CLASS_NAMES):
        raise ValueError(f"class_index must be in [0, {len(SYNTHETIC_CLASS_NAMES)}), got {class_index}")
    clip = CLASS_PAIRS[class_index // 2].renderer(rng, num_frames, height, width)
    return np.ascontiguousarray(clip[::-1]) if class_index % 2 else clip
