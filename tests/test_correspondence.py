"""Correspondence maps known points correctly through both views, flips included."""

import itertools

import numpy as np
import pytest
import torch

from pairgen import PairSampler
from pairgen.correspondence import correspondence, grid_centres, source_to_view, view_to_source

GEOMETRY = {"name": "geometry", "normalize": None,
            "views": [{"count": 2, "size": 96, "crop": {"type": "random_resized", "scale": [0.3, 1.0]}, "flip": 0.5}]}


def dot_images(points, height=240, width=320):
    """Black images with one bright Gaussian dot each, at the given (x, y) source points."""
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    images = []
    for x, y in points:
        dot = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 3.0**2))
        images.append(np.repeat((dot * 255).astype(np.uint8)[:, :, None], 3, 2))
    return images


def test_known_points_land_where_the_views_show_them():
    points = [(160.0, 120.0), (100.0, 80.0), (220.0, 150.0), (170.0, 110.0)] * 4
    sampler = PairSampler(GEOMETRY, seed=0, mode="device")
    pairs = sampler(sampler.collate(dot_images(points)))
    assert pairs.params1.flip.any() and (~pairs.params1.flip).any()
    source = torch.tensor(points)[:, None, :]
    checked = 0
    for params, view in zip(pairs.params, pairs.views):
        predicted = source_to_view(source, params)[:, 0]
        for i in range(len(points)):
            x, y = predicted[i].tolist()
            if not (4 <= x <= 92 and 4 <= y <= 92):
                continue  # the dot is outside (or at the border of) this view
            row, col = divmod(int(view[i, 0].argmax()), 96)
            assert abs(col + 0.5 - x) <= 1.5 and abs(row + 0.5 - y) <= 1.5, (i, x, y, col, row)
            checked += 1
    assert checked >= 12
    # And back: view coordinates of the dot map to its source position.
    back = view_to_source(source_to_view(source, pairs.params1), pairs.params1)
    assert torch.allclose(back, source, atol=1e-3)


def test_positive_mask_matches_brute_force():
    sampler = PairSampler(GEOMETRY, seed=1, mode="device")
    pairs = sampler(sampler.collate(dot_images([(50.0, 50.0)] * 6)))
    grid, ratio = 5, 0.7
    match = correspondence(pairs.params1, pairs.params2, grid=grid, pos_ratio=ratio)
    for b in range(6):
        boxes = [p.boxes[b].tolist() for p in pairs.params]
        flips = [bool(p.flip[b]) for p in pairs.params]
        centres, diagonals = [], []
        for (x1, y1, x2, y2), flip in zip(boxes, flips):
            cw, ch = (x2 - x1) / grid, (y2 - y1) / grid
            diagonals.append((cw**2 + ch**2) ** 0.5)
            cells = []
            for r, c in itertools.product(range(grid), range(grid)):
                u = (c + 0.5) / grid
                u = 1 - u if flip else u
                cells.append((x1 + u * (x2 - x1), y1 + (r + 0.5) / grid * (y2 - y1)))
            centres.append(cells)
        for i, j in itertools.product(range(grid * grid), repeat=2):
            d = np.hypot(centres[0][i][0] - centres[1][j][0], centres[0][i][1] - centres[1][j][1]) / max(diagonals)
            assert abs(float(match.distance[b, i, j]) - d) < 1e-3
            assert bool(match.positive[b, i, j]) == (d < ratio)
        (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = boxes
        overlap = [max(ax1, bx1), max(ay1, by1), min(ax2, bx2), min(ay2, by2)]
        assert match.overlap[b].tolist() == pytest.approx(overlap)
        assert bool(match.overlap_valid[b]) == (overlap[2] > overlap[0] and overlap[3] > overlap[1])


def test_identical_views_match_cell_to_cell():
    sampler = PairSampler(GEOMETRY, seed=2, mode="device")
    pairs = sampler(sampler.collate(dot_images([(50.0, 50.0)] * 3)))
    match = correspondence(pairs.params1, pairs.params1, grid=4)
    assert torch.equal(match.positive[0].nonzero()[:, 0], match.positive[0].nonzero()[:, 1]) or match.positive[0].diagonal().all()
    assert match.positive.diagonal(dim1=1, dim2=2).all()
    assert grid_centres(pairs.params1, 4).shape == (3, 16, 2)
    with pytest.raises(ValueError, match="grid"):
        correspondence(pairs.params1, pairs.params2, grid=0)
