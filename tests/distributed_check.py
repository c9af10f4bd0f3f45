"""Checks run on every rank by tests/test_distributed.py under
``torchrun --standalone --nproc_per_node 2`` (gloo backend, CPU).

Each rank holds an uneven slice of one batch (5 and 7 items). Gathered ids,
masks, losses and the DistributedDataParallel gradients must equal what a
single process computes on the whole batch. Exits non-zero on any mismatch.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pairgen import losses, negatives  # noqa: E402

SLICES = [(0, 5), (5, 12)]

LOSSES = {
    "info_nce": lambda z1, z2, y, mask: losses.info_nce(z1, z2, 0.5, mask),
    "debiased_info_nce": lambda z1, z2, y, mask: losses.debiased_info_nce(z1, z2, 0.1, 0.5, mask),
    "hard_negative_info_nce": lambda z1, z2, y, mask: losses.hard_negative_info_nce(z1, z2, 1.0, 0.1, 0.5, mask),
    "supervised_contrastive": lambda z1, z2, y, mask: losses.supervised_contrastive(z1, z2, y, 0.1),
}


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(f"rank {dist.get_rank()}: {message}")


def main() -> int:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    _check(dist.get_world_size() == len(SLICES), "expects 2 ranks")
    start, stop = SLICES[rank]

    torch.manual_seed(0)  # the same full batch and model on every rank
    x1, x2 = torch.randn(12, 10, dtype=torch.float64), torch.randn(12, 10, dtype=torch.float64)
    labels = torch.randint(0, 4, (12,))
    model = torch.nn.Linear(10, 6).double()

    gathered_labels = negatives.gather(labels[start:stop])
    _check(torch.equal(gathered_labels, labels), "gathered labels differ from the full batch")
    full_mask = negatives.negative_mask(labels=labels)
    _check(torch.equal(negatives.negative_mask(labels=gathered_labels), full_mask), "gathered mask differs")
    flags = negatives.gather(labels[start:stop] == 0)
    _check(flags.dtype == torch.bool and torch.equal(flags, labels == 0), "bool gather differs")

    for name, loss_fn in LOSSES.items():
        z = model(torch.cat([x1, x2]))
        expected = loss_fn(z[:12], z[12:], labels, full_mask)
        expected_grads = torch.autograd.grad(expected, list(model.parameters()))

        ddp = DistributedDataParallel(copy.deepcopy(model))
        local = ddp(torch.cat([x1[start:stop], x2[start:stop]]))
        z1, z2 = local.split(stop - start)
        z1, z2 = negatives.gather(z1), negatives.gather(z2)
        loss = loss_fn(z1, z2, gathered_labels, negatives.negative_mask(labels=gathered_labels))
        _check(torch.allclose(loss, expected, rtol=0, atol=1e-10), f"{name}: loss {loss} != {expected}")
        loss.backward()
        for param, grad in zip(ddp.module.parameters(), expected_grads):
            _check(torch.allclose(param.grad, grad, rtol=0, atol=1e-10), f"{name}: DDP gradient differs")

    sampler = negatives.GroupBatchSampler(labels.repeat(5), 6, seed=1)  # rank and world from the group
    batches = [None, None]
    dist.all_gather_object(batches, list(sampler))
    flat = sorted(i for rank_batches in batches for batch in rank_batches for i in batch)
    _check(flat == list(range(60)) and len(batches[0]) == len(batches[1]), "sampler ranks overlap or miss items")

    dist.barrier()
    dist.destroy_process_group()
    print(f"rank {rank}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
