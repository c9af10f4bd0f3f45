"""Gather embeddings and ids across distributed ranks, keeping gradients.

Contrastive losses get better with more negatives, so data-parallel training
compares every embedding with those of all ranks (SimCLR, Chen et al. 2020).
:func:`gather` concatenates a tensor from every rank along dimension 0, in rank
order; ranks may hold different batch sizes. Gradients flow back to each rank's
own slice: the backward pass sums the gradient of the gathered tensor over all
ranks (each rank's loss depends on every rank's embeddings) and keeps the local
part, as the ``GatherLayer`` of SimCLR ports does. Hence, when every rank
computes the loss of the gathered batch and ``DistributedDataParallel`` averages
the parameter gradients, training follows exactly the gradient of one process
holding the whole batch.

Without an initialised process group (or with one rank) :func:`gather` returns
its input unchanged, so the same code runs on one device.

Example:
    >>> z1, z2, labels = torch.randn(4, 8), torch.randn(4, 8), torch.arange(4)
    >>> z1, z2, labels = gather(z1), gather(z2), gather(labels)   # identity here
    >>> # mask = negative_mask(labels=labels); loss = losses.info_nce(z1, z2, negative_mask=mask)
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """Whether a process group with more than one rank is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _all_sizes(tensor: torch.Tensor) -> list[int]:
    size = torch.tensor([tensor.shape[0]], dtype=torch.int64, device=tensor.device)
    sizes = [torch.empty_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    return [int(s) for s in sizes]


def _all_gather(tensor: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Concatenate every rank's ``tensor`` (first dimensions ``sizes``) along dim 0."""
    largest = max(sizes)
    padded = tensor.new_zeros((largest, *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([part[:size] for part, size in zip(parts, sizes)])


class _Gather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        sizes = _all_sizes(tensor)
        rank = dist.get_rank()
        ctx.local = (sum(sizes[:rank]), sizes[rank])
        return _all_gather(tensor, sizes)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start, size = ctx.local
        return grad[start : start + size]


def gather(tensor: torch.Tensor) -> torch.Tensor:
    """All ranks' ``tensor`` concatenated along dimension 0, in rank order.

    Args:
        tensor: ``(n_rank, ...)``; the trailing dimensions and dtype must agree
            across ranks, the first may differ.

    Returns:
        ``(sum of n_rank, ...)``; differentiable with respect to the local slice
        when ``tensor`` requires grad. ``tensor`` itself without a process group.
    """
    if not isinstance(tensor, torch.Tensor) or tensor.dim() < 1:
        raise ValueError(f"tensor must be a tensor with at least one dimension, got {type(tensor).__name__}")
    if not is_distributed():
        return tensor
    if tensor.dtype == torch.bool:  # not every backend reduces bools
        return _all_gather(tensor.to(torch.uint8), _all_sizes(tensor)).bool()
    if tensor.requires_grad:
        return _Gather.apply(tensor)
    return _all_gather(tensor, _all_sizes(tensor))
