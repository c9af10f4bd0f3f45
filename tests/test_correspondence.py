"""Correspondence maps known points correctly through both views, flips and warps included,
and its positives are PixPro's."""


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


def pixpro_positive(box_q, flip_q, box_k, flip_k, width, height, grid, pos_ratio):
    """PixPro's positive mask (zdaxie/PixPro, contrast/models/PixPro.py ``regression_loss``),
    transcribed with plain loops: a crop (i, j, h, w) has the coords [j / (W - 1), i / (H - 1),
    (j + w - 1) / (W - 1), (i + h - 1) / (H - 1)] (RandomResizedCropCoord), a flip swaps x1 and
    x2 (RandomHorizontalFlipCoord), centres at (index + 0.5) * bin + start."""
    coords = []
    for (x1, y1, x2, y2), flip in ((box_q, flip_q), (box_k, flip_k)):
        j, i, w, h = x1, y1, x2 - x1, y2 - y1
        coord = [j / (width - 1), i / (height - 1), (j + w - 1) / (width - 1), (i + h - 1) / (height - 1)]
        if flip:
            coord[0], coord[2] = coord[2], coord[0]
        coords.append(coord)
    bins = [((c[2] - c[0]) / grid, (c[3] - c[1]) / grid) for c in coords]
    max_bin_diag = max(np.sqrt(bw**2 + bh**2) for bw, bh in bins)
    centres = [[(c[0] + (col + 0.5) * bw, c[1] + (row + 0.5) * bh) for row in range(grid) for col in range(grid)]
               for c, (bw, bh) in zip(coords, bins)]
    distance = np.array([[np.hypot(qx - kx, qy - ky) / max_bin_diag for kx, ky in centres[1]] for qx, qy in centres[0]])
    return distance < pos_ratio, distance


def non_square_photos():
    """Real photos of 300 x 400 and 200 x 500 (height x width), from scikit-image."""
    from skimage import data

    return [np.ascontiguousarray(data.chelsea()[:, :400]), np.ascontiguousarray(data.coffee()[100:300, 50:550])]


@pytest.mark.parametrize("seed", range(3))
def test_positive_mask_is_pixpros_on_non_square_photos(seed):
    sampler = PairSampler(GEOMETRY, seed=seed, mode="device")
    photos = non_square_photos() * 4
    pairs = sampler(sampler.collate(photos))
    grid, ratio = 7, 0.7
    match = pairs.correspondence(grid=grid, pos_ratio=ratio)
    assert pairs.params1.flip.any() and (~pairs.params1.flip).any()
    for b, photo in enumerate(photos):
        height, width = photo.shape[:2]
        boxes = [p.boxes[b].tolist() for p in pairs.params]
        flips = [bool(p.flip[b]) for p in pairs.params]
        positive, distance = pixpro_positive(boxes[0], flips[0], boxes[1], flips[1], width, height, grid, ratio)
        assert np.allclose(match.distance[b].numpy(), distance, atol=1e-5)
        clear = np.abs(distance - ratio) > 1e-5  # float32 against float64 right at the threshold
        assert (match.positive[b].numpy() == positive)[clear].all()
        (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = boxes
        overlap = [max(ax1, bx1), max(ay1, by1), min(ax2, bx2), min(ay2, by2)]
        assert match.overlap[b].tolist() == pytest.approx(overlap)
        assert bool(match.overlap_valid[b]) == (overlap[2] > overlap[0] and overlap[3] > overlap[1])
        # Source pixels of the cell centres: the crop, mirrored when flipped.
        for params, points, flip in zip(pairs.params[:2], (match.points1, match.points2), flips):
            x1, y1, x2, y2 = params.boxes[b].tolist()
            u = (torch.arange(grid) + 0.5) / grid
            xs = x1 + (1 - u if flip else u) * (x2 - x1)
            assert torch.allclose(points[b, :grid, 0], xs, atol=1e-3)
            assert torch.allclose(points[b, ::grid, 1], y1 + u * (y2 - y1), atol=1e-3)


VIEWPOINT = {"name": "warped", "normalize": None,
             "views": [{"count": 2, "size": 96, "crop": {"type": "random_resized", "scale": [0.4, 1.0]}, "flip": 0.5,
                        "ops": [{"type": "viewpoint", "p": 1.0, "rotation": [-40, 40], "scale": [0.8, 1.2],
                                 "perspective": 0.3, "padding": "zeros"}]}]}


def test_correspondence_follows_viewpoint_warps():
    # The cell centres' source positions, shown as dots and rendered again with the same seeds,
    # appear at those cell centres in the warped views.
    sampler = PairSampler(VIEWPOINT, seed=3, mode="device")
    blank = [np.zeros((240, 320, 3), np.uint8)] * 8
    pairs = sampler(sampler.collate(blank))
    assert all(bool(p.extras[0]["applied"].all()) for p in pairs.params)
    grid = 4
    match = pairs.correspondence(grid=grid)
    cell = 5  # the cell at row 1, column 1 of view 1
    dots = [tuple(match.points1[i, cell].tolist()) for i in range(8)]
    views = sampler.replay(dot_images(dots), pairs.seeds).views
    checked = 0
    for i in range(8):
        x, y = match.points1[i, cell].tolist()
        if not (6 <= x <= 314 and 6 <= y <= 234):
            continue  # the dot would sit on the image border
        row, col = divmod(int(views[0][i, 0].argmax()), 96)
        assert abs(col + 0.5 - 36) <= 2 and abs(row + 0.5 - 36) <= 2, (i, col, row)  # centre (1.5 * 24, 1.5 * 24)
        checked += 1
    assert checked >= 5
    # Round trips through the warp, and the warp matters: without the ops the points differ.
    ops = pairs.view_ops[0]
    source = torch.tensor(dots)[:, None, :]
    assert torch.allclose(view_to_source(source_to_view(source, pairs.params1, ops), pairs.params1, ops), source, atol=1e-3)
    unwarped = correspondence(pairs.params1, pairs.params2, pairs.sizes, grid=grid)
    assert (unwarped.points1 - match.points1).norm(dim=-1).mean() > 5


def test_identical_views_match_cell_to_cell():
    sampler = PairSampler(GEOMETRY, seed=2, mode="device")
    pairs = sampler(sampler.collate(dot_images([(50.0, 50.0)] * 3)))
    match = correspondence(pairs.params1, pairs.params1, pairs.sizes, grid=4)
    assert torch.equal(match.positive[0].nonzero()[:, 0], match.positive[0].nonzero()[:, 1]) or match.positive[0].diagonal().all()
    assert match.positive.diagonal(dim1=1, dim2=2).all()
    assert grid_centres(pairs.params1, 4).shape == (3, 16, 2)
    with pytest.raises(ValueError, match="grid"):
        correspondence(pairs.params1, pairs.params2, pairs.sizes, grid=0)
    with pytest.raises(ValueError, match="sizes must be"):
        correspondence(pairs.params1, pairs.params2, pairs.sizes[:2])
