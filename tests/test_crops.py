import math

import numpy as np
import pytest
import torch
from torchvision.transforms import RandomResizedCrop as TorchvisionRRC

from pairgen.crops import CenterCrop, RandomResizedCrop, crop_from_dict, random_resized_boxes


def _stats(boxes, height, width):
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return (w * h / (height * width)).numpy(), torch.log(w / h).numpy(), ((boxes[:, 0] + boxes[:, 2]) / 2 / width).numpy()


def test_random_resized_matches_torchvision_distribution():
    """Area fraction, log-aspect and centre distributions against torchvision's sampler
    (two-sample Kolmogorov-Smirnov distance on 20 000 draws each)."""
    height, width, n = 300, 500, 20_000
    boxes, fallback = random_resized_boxes(torch.tensor([[height, width]] * n), torch.arange(n), (0.08, 1.0), (3 / 4, 4 / 3))
    torch.manual_seed(0)
    image = torch.zeros(1, height, width)
    ref = []
    for _ in range(n):
        i, j, h, w = TorchvisionRRC.get_params(image, [0.08, 1.0], [3 / 4, 4 / 3])
        ref.append([j, i, j + w, i + h])
    ref = torch.tensor(ref, dtype=torch.float32)
    for ours, theirs in zip(_stats(boxes, height, width), _stats(ref, height, width)):
        grid = np.sort(np.concatenate([ours, theirs]))
        ks = np.abs(np.searchsorted(np.sort(ours), grid, "right") / n - np.searchsorted(np.sort(theirs), grid, "right") / n).max()
        assert ks < 0.02
    assert fallback.float().mean() < 0.01
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()
    assert torch.equal(boxes, boxes.round())


def test_random_resized_fallback_is_flagged_and_deterministic():
    sizes = torch.tensor([[10.0, 1000.0], [1.0, 1.0]])
    boxes, fallback = random_resized_boxes(sizes, torch.tensor([1, 2]), (0.9, 1.0), (3 / 4, 4 / 3))
    assert fallback.tolist() == [True, False]
    w, h = boxes[0, 2] - boxes[0, 0], boxes[0, 3] - boxes[0, 1]
    assert h == 10 and math.isclose(float(w), round(10 * 4 / 3)) and boxes[0, 0] == (1000 - w) // 2
    assert boxes[1].tolist() == [0, 0, 1, 1]
    again, _ = random_resized_boxes(sizes, torch.tensor([1, 2]), (0.9, 1.0), (3 / 4, 4 / 3))
    assert torch.equal(boxes, again)


def test_crop_settings_are_validated_and_round_trip():
    with pytest.raises(ValueError, match="scale"):
        RandomResizedCrop(scale=(0.5, 0.1))
    with pytest.raises(ValueError, match="ratio"):
        RandomResizedCrop(ratio=(0.0, 1.0))
    with pytest.raises(ValueError, match="crop type"):
        crop_from_dict({"type": "nope"})
    with pytest.raises(ValueError, match="no setting"):
        crop_from_dict({"type": "random_resized", "scales": [0.1, 1]})
    for crop in (RandomResizedCrop(scale=(0.2, 0.9)), CenterCrop(0.5)):
        assert crop_from_dict(crop.to_dict()) == crop


def test_the_centre_crop_fallback_is_torchvisions():
    """Where no candidate fits (scale 0.9-1 of a 10:1 strip), torchvision falls back to its
    centre crop at the ratio; every pairgen sampler's default fallback is that crop."""
    from pairgen.crops.proposals import centre_crop

    for height, width in ((20, 400), (400, 20), (9, 50)):
        i, j, h, w = TorchvisionRRC.get_params(torch.zeros(1, height, width), [0.9, 1.0], [3 / 4, 4 / 3])
        assert centre_crop(torch.tensor([[height, width]]), (3 / 4, 4 / 3))[0].tolist() == [j, i, j + w, i + h]


def test_candidate_sides_round_half_to_even_and_reject_what_does_not_fit():
    from pairgen.crops.proposals import candidate_sides

    sizes = torch.tensor([[10.0, 10.0]])
    # area 0.25 x 100 = 25 at aspect 1: 5 x 5; aspect e^(log 4) = 4: 10 x 2.5 -> 10 x 2 (half to even).
    w, h, fits = candidate_sides(sizes, torch.tensor([[0.25, 0.25]]).double(), torch.tensor([[0.5, 1.0]]).double(),
                                 (0.0, 1.0), (1 / 4, 4.0))
    assert w.tolist() == [[5.0, 10.0]] and h.tolist() == [[5.0, 2.0]] and fits.tolist() == [[True, True]]
    w, h, fits = candidate_sides(sizes, torch.tensor([[1.0]]).double(), torch.tensor([[1.0]]).double(), (1.0, 1.0), (1 / 4, 4.0))
    assert w.tolist() == [[20.0]] and not fits.any()  # 20 x 5 does not fit in 10 x 10: rejected, not clamped
