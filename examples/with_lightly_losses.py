"""pairgen's pairs with lightly's losses: a mix real users make.

pairgen only makes the views; any loss that takes two batches of embeddings works.
Here the ``cast`` recipe (saliency-constrained crops, Selvaraju et al., CVPR 2021,
with pairgen's built-in saliency) feeds lightly's ``NTXentLoss`` on real photos
(scikit-image's and Debian's opencv-doc). The script also checks that lightly's loss
and ``pairgen.losses.info_nce`` agree on the same embeddings: they implement the
same NT-Xent formula.

Needs ``pip install lightly`` (it skips with exit status 0 and a message when lightly
is missing).

    python examples/with_lightly_losses.py           # 200 steps
    python examples/with_lightly_losses.py --smoke   # 8 steps
"""

from __future__ import annotations

import argparse
import itertools
import sys

import torch
from torch.utils.data import DataLoader

from common import SmallResNet, Timer, progress, projection_head, real_photos, set_threads

from pairgen import PairSampler, losses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="8 steps, for the tests")
    args = parser.parse_args(argv)
    try:
        from lightly.loss import NTXentLoss
    except ImportError:
        print("lightly is not installed (pip install lightly): skipped")
        return 0
    steps = 8 if args.smoke else args.steps

    timer = Timer()
    set_threads(num_workers=1)
    torch.manual_seed(0)
    photos = list(real_photos().values())
    sampler = PairSampler("cast", size=64, seed=0)              # built-in saliency, computed per batch
    batch_size = min(16, len(photos))                         # 10 photos without opencv-doc
    loader = DataLoader(photos, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=1, collate_fn=sampler.collate)
    model = SmallResNet(width=16, stem_stride=2)
    head = projection_head(model.dim)
    criterion = NTXentLoss(temperature=0.5)
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-3)

    largest_gap, fallbacks, history = 0.0, [], []
    batches = itertools.chain.from_iterable(itertools.repeat(loader))
    bar = progress(steps, "with_lightly_losses")
    for step, batch in zip(range(steps), batches):
        pairs = sampler(batch)
        fallbacks.append(float(pairs.params1.fallback_used.float().mean()))
        z1, z2 = head(model(pairs.view1)), head(model(pairs.view2))
        loss = criterion(z1, z2)
        largest_gap = max(largest_gap, abs(loss.item() - losses.info_nce(z1, z2, temperature=0.5).item()))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if step % 50 == 0:
            bar.write(f"step {step}: lightly NTXentLoss {loss.item():.4f}", file=sys.stdout)
    bar.close()

    window = max(1, steps // 4)
    print(f"mean loss of the first {window} steps {sum(history[:window]) / window:.4f}, "
          f"of the last {window} {sum(history[-window:]) / window:.4f}; "
          f"CAST fallback rate {sum(fallbacks) / len(fallbacks):.3f}; "
          f"largest |lightly - pairgen info_nce| {largest_gap:.2e}")
    print(f"done: {steps} steps in {timer.seconds:.1f} s ({steps / timer.seconds:.2f} steps/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
