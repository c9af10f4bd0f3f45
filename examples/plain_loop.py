"""The smallest complete training loop: pairgen pairs, a ResNet and the NT-Xent loss.

Any sequence of images is a dataset; ``sampler.collate`` is the DataLoader's
``collate_fn``; calling the sampler gives the two views. Trains on the real photos
available offline (scikit-image's and, when installed, Debian's opencv-doc) and
prints the loss falling.

    python examples/plain_loop.py            # 300 steps, under a minute on 2 idle CPU cores
    python examples/plain_loop.py --smoke    # 12 steps
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
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="12 steps, for the tests")
    args = parser.parse_args(argv)
    steps = 12 if args.smoke else args.steps

    timer = Timer()
    set_threads(num_workers=1)
    torch.manual_seed(0)
    photos = list(real_photos().values())                     # HWC uint8 arrays of different sizes
    sampler = PairSampler("simclr", size=64, seed=0)
    batch_size = min(16, len(photos))                         # 10 photos without opencv-doc
    loader = DataLoader(photos, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=1, collate_fn=sampler.collate)
    model = SmallResNet(width=16, stem_stride=2)
    head = projection_head(model.dim)
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-3)

    history = []
    batches = itertools.chain.from_iterable(itertools.repeat(loader))   # epoch after epoch
    bar = progress(steps, "plain_loop")
    for step, batch in zip(range(steps), batches):
        pairs = sampler(batch)                                 # views of both kinds, on sampler.device
        z1, z2 = head(model(pairs.view1)), head(model(pairs.view2))
        loss = losses.info_nce(z1, z2, temperature=0.5)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if step % 50 == 0:
            bar.write(f"step {step}: loss {loss.item():.4f}", file=sys.stdout)
    bar.close()

    window = max(1, len(history) // 4)
    first, last = sum(history[:window]) / window, sum(history[-window:]) / window
    print(f"{len(photos)} photos, {steps} steps: mean loss of the first {window} steps {first:.4f}, of the last {window} {last:.4f}")
    print(f"done: {steps} steps in {timer.seconds:.1f} s ({steps / timer.seconds:.2f} steps/s, "
          f"{torch.get_num_threads()} torch thread(s) + 1 worker)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
