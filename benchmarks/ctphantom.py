"""Synthetic chest CT slices in Hounsfield units, varied like a population of patients and levels.

Used by the fingerprint benchmarks as "real-looking" distinct images: each call with another seed is
another patient at another level (body size and shape, lungs, heart, spine, ribs, vessels, lesions,
table, noise). Deterministic for a seed; numpy only.
"""

from __future__ import annotations

import numpy as np


def _ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float, rx: float, angle: float = 0.0,
             power: float = 2.0) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    y, x = yy - cy, xx - cx
    u, v = (x * c + y * s) / rx, (-x * s + y * c) / ry
    return (np.abs(u) ** power + np.abs(v) ** power) <= 1.0


def _smooth(a: np.ndarray, passes: int = 1) -> np.ndarray:
    for _ in range(passes):
        a = (a + np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1)) / 5.0
    return a


def slice_hu(seed: int, size: int = 512) -> np.ndarray:
    """One synthetic axial chest CT slice, ``size`` x ``size`` int16 HU (air -1000; half of them with -2048
    outside a circular field of view). Drawn at half resolution, then upsampled and given full-resolution noise."""
    rng = np.random.default_rng(seed)
    half = size // 2
    yy, xx = np.mgrid[0:half, 0:half].astype(np.float32)
    s = half / 512.0
    img = np.full((half, half), -1000.0, np.float32)
    cy, cx = half * rng.uniform(0.46, 0.54), half * rng.uniform(0.46, 0.54)
    ry, rx = s * rng.uniform(110, 165), s * rng.uniform(170, 235)
    tilt = rng.uniform(-0.08, 0.08)
    # table under the patient
    ty = cy + ry + s * rng.uniform(8, 25)
    table = (yy > ty) & (yy < ty + s * rng.uniform(8, 16)) & (np.abs(xx - cx) < s * rng.uniform(180, 240))
    img[table] = rng.uniform(-200, 100)
    body = _ellipse(yy, xx, cy, cx, ry, rx, tilt, power=rng.uniform(2.0, 2.8))
    img[body] = rng.uniform(-120, -80)  # fat
    inner = _ellipse(yy, xx, cy, cx, ry - s * rng.uniform(8, 25), rx - s * rng.uniform(8, 30), tilt,
                     power=rng.uniform(2.0, 2.6))
    img[inner] = rng.uniform(30, 60)  # muscle / soft tissue
    # lungs (absent at the lowest levels: abdomen)
    level = rng.uniform(0, 1)
    if level > 0.15:
        lr = ry * rng.uniform(0.55, 0.8) * min(1.0, level * 1.6)
        for side in (-1, 1):
            lx = cx + side * rx * rng.uniform(0.38, 0.5)
            lung = _ellipse(yy, xx, cy - ry * rng.uniform(0.0, 0.15), lx, lr, rx * rng.uniform(0.28, 0.4),
                            side * rng.uniform(-0.3, 0.3), power=rng.uniform(1.8, 2.6))
            img[lung & inner] = rng.uniform(-880, -820)
            # vessels and bronchi
            for _ in range(int(rng.integers(15, 60))):
                vy, vx = rng.normal(cy, ry * 0.4), rng.normal(lx, rx * 0.15)
                r = s * rng.uniform(1.5, 5)
                v = (yy - vy) ** 2 + (xx - vx) ** 2 <= r * r
                img[v & lung & inner] = rng.uniform(-50, 80) if rng.random() < 0.8 else -1000
            if rng.random() < 0.5:  # ground-glass opacities
                for _ in range(int(rng.integers(1, 5))):
                    gy, gx = rng.normal(cy + ry * 0.2, ry * 0.3), rng.normal(lx, rx * 0.12)
                    g = _ellipse(yy, xx, gy, gx, s * rng.uniform(10, 35), s * rng.uniform(10, 35), rng.uniform(0, 3))
                    img[g & lung & inner] = rng.uniform(-650, -350)
        heart = _ellipse(yy, xx, cy + ry * rng.uniform(-0.1, 0.15), cx + rx * rng.uniform(0.0, 0.15),
                         ry * rng.uniform(0.25, 0.45), rx * rng.uniform(0.18, 0.3), rng.uniform(-0.6, 0.6))
        img[heart & inner] = rng.uniform(30, 50)
    else:
        liver = _ellipse(yy, xx, cy, cx - rx * 0.3, ry * 0.6, rx * 0.45, rng.uniform(-0.4, 0.4))
        img[liver & inner] = rng.uniform(50, 70)
        gas = _ellipse(yy, xx, cy - ry * 0.3, cx + rx * 0.4, ry * 0.2, rx * 0.15)
        img[gas & inner] = -1000
    # spine and ribs
    sy = cy + ry * rng.uniform(0.55, 0.7)
    spine = (yy - sy) ** 2 + (xx - cx) ** 2 <= (s * rng.uniform(14, 22)) ** 2
    img[spine] = rng.uniform(500, 900)
    for k in range(int(rng.integers(6, 12))):
        a = np.pi * (k + rng.uniform(0, 1)) / 6.0
        py, px = cy + (ry - s * 12) * np.sin(a), cx + (rx - s * 14) * np.cos(a)
        rib = _ellipse(yy, xx, py, px, s * rng.uniform(4, 8), s * rng.uniform(6, 12), a)
        img[rib & body] = rng.uniform(400, 800)
    img = _smooth(img, 1)
    img = np.repeat(np.repeat(img, 2, 0), 2, 1)[:size, :size]
    img = _smooth(img, 1)
    img += rng.normal(0, rng.uniform(8, 25), img.shape).astype(np.float32)
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        fov = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= (size * 0.5) ** 2
        img[~fov] = -2048
    return np.clip(np.round(img), -2048, 3071).astype(np.int16)
