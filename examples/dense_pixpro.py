"""A dense contrastive loss from the geometric correspondence of two views.

Dense methods (PixPro: Xie et al., "Propagate Yourself", CVPR 2021; DenseCL: Wang et
al., CVPR 2021) contrast feature-map cells instead of whole images: a cell of view 1
and a cell of view 2 are positives when they show the same part of the source
image. pairgen knows exactly where every view came from, so
``pairs.correspondence(grid=g)`` gives PixPro's positive mask for a ``g x g``
feature map directly: cells whose source positions lie closer than 0.7 cell
diagonals.

The loss here is PixPro's *PixContrast* variant, an InfoNCE over cells: for each
cell of view 1 that has positives, its positives are the matching cells of view 2
and its negatives every other cell of view 2 in the batch; plus the usual
image-level NT-Xent, as DenseCL combines them. Trained on real photos
(scikit-image's and Debian's opencv-doc), it prints how much more similar the
features of matching cells are than those of non-matching cells of the same pair.

    python examples/dense_pixpro.py           # 300 steps, about a minute on 2 idle CPU cores
    python examples/dense_pixpro.py --smoke   # 10 steps
"""

from __future__ import annotations

import argparse
import itertools
import sys

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from common import SmallResNet, Timer, progress, projection_head, real_photos, set_threads

from pairgen import PairSampler, load_recipe, losses

SIZE, GRID = 64, 8  # 64-pixel views; the SmallResNet with a stride-2 stem gives 8 x 8 feature maps


def pix_contrast(f1: torch.Tensor, f2: torch.Tensor, positive: torch.Tensor, temperature: float = 0.3) -> torch.Tensor:
    """InfoNCE over cells with several positives per anchor.

    Args:
        f1, f2: ``(B, C, g, g)`` cell features of the two views.
        positive: ``(B, g*g, g*g)`` bool, cell ``i`` of view 1 matches cell ``j`` of view 2.
        temperature: softmax temperature.

    Returns:
        ``-log`` of the softmax mass on the positives, averaged over view-1 cells that have any.
    """
    c = f1.shape[1]
    q = F.normalize(f1.flatten(2).transpose(1, 2), dim=-1).reshape(-1, c)   # (B g g, C)
    k = F.normalize(f2.flatten(2).transpose(1, 2), dim=-1).reshape(-1, c)
    logits = q @ k.T / temperature                                           # every cell of view 2 in the batch
    mask = torch.block_diag(*positive)                                       # positives only within an image
    has_positive = mask.any(1)
    log_all = torch.logsumexp(logits, dim=1)
    log_positive = torch.logsumexp(logits.masked_fill(~mask, float("-inf")), dim=1)
    return (log_all - log_positive)[has_positive].mean()


@torch.no_grad()
def matching_similarity(model: SmallResNet, dense_head: nn.Module, pairs, positive: torch.Tensor) -> tuple[float, float]:
    """Mean cosine similarity of matching and of non-matching cells of the same pairs."""
    model.eval()
    f1 = F.normalize(dense_head(model.feature_map(pairs.view1)).flatten(2), dim=1)
    f2 = F.normalize(dense_head(model.feature_map(pairs.view2)).flatten(2), dim=1)
    model.train()
    similarity = torch.einsum("bci,bcj->bij", f1, f2)
    return float(similarity[positive].mean()), float(similarity[~positive].mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="10 steps, for the tests")
    args = parser.parse_args(argv)
    steps = 10 if args.smoke else args.steps

    timer = Timer()
    set_threads(num_workers=1)
    torch.manual_seed(0)
    photos = list(real_photos().values())
    # Scale 0.2-1 (MoCo v2, as PixPro) so that the views of a pair usually overlap.
    recipe = load_recipe("simclr").to_dict()
    recipe["views"][0]["crop"]["scale"] = [0.2, 1.0]
    sampler = PairSampler(recipe, size=SIZE, seed=0)
    batch_size = min(16, len(photos))                         # 10 photos without opencv-doc
    loader = DataLoader(photos, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=1, collate_fn=sampler.collate)
    model = SmallResNet(width=16, stem_stride=2)
    dense_head = nn.Sequential(nn.Conv2d(model.dim, model.dim, 1), nn.BatchNorm2d(model.dim), nn.ReLU(), nn.Conv2d(model.dim, 64, 1))
    global_head = projection_head(model.dim)
    parameters = [*model.parameters(), *dense_head.parameters(), *global_head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=1e-3)

    batches = itertools.chain.from_iterable(itertools.repeat(loader))
    bar = progress(steps, "dense_pixpro")
    for step, batch in zip(range(steps), batches):
        pairs = sampler(batch)
        match = pairs.correspondence(grid=GRID)          # positive: (B, 64, 64) from the crop boxes and flips
        m1, m2 = model.feature_map(pairs.view1), model.feature_map(pairs.view2)
        assert m1.shape[-1] == GRID, "the grid must match the feature map"
        dense = pix_contrast(dense_head(m1), dense_head(m2), match.positive)
        instance = losses.info_nce(global_head(m1.mean((2, 3))), global_head(m2.mean((2, 3))), temperature=0.5)
        loss = dense + instance
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if step % 50 == 0 or step == steps - 1:
            share = match.positive.any(2).float().mean()
            bar.write(f"step {step}: dense loss {dense.item():.4f}, instance loss {instance.item():.4f}, "
                  f"view-1 cells with a match {share:.2f}", file=sys.stdout)
    bar.close()

    pairs = sampler(next(iter(loader)))
    positive = pairs.correspondence(grid=GRID).positive
    matching, other = matching_similarity(model, dense_head, pairs, positive)
    print(f"cosine similarity of matching cells {matching:.3f}, of non-matching cells {other:.3f} "
          f"(gap {matching - other:.3f})")
    print(f"done: {steps} steps in {timer.seconds:.1f} s ({steps / timer.seconds:.2f} steps/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
