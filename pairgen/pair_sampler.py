"""PairSampler: the entry point that turns dataset items into positive pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import get_worker_info

from pairgen.batch import ImageBatch, PairBatch
from pairgen.collate import collate_items
from pairgen.errors import ConfigurationError
from pairgen.params import ViewParams
from pairgen.random import derive_seeds, new_seeds, worker_seeds
from pairgen.recipe import Recipe, load_recipe

SaliencyFn = Callable[[ImageBatch], torch.Tensor]
#: Recipes whose two views come from two different images (an item and its partner).
PARTNER_RECIPES = ("instance", "temporal")


class PairSampler:
    """Samples the views of a recipe for batches of dataset items.

    Two stages: :meth:`collate` (the DataLoader's ``collate_fn``, in the workers)
    puts a batch's images on one uint8 canvas; calling the sampler on that batch
    draws every view's :class:`~pairgen.params.ViewParams` at once and renders the
    views batched on ``device``. On a CPU-only machine (``mode="worker"``, the
    default there) the random stage runs inside ``collate`` so that the workers do
    it in parallel; calling the sampler then only moves the ready batch.

    Every view replays from its per-sample seed (``params.seeds``). The seeds come
    from ``seed`` in the main process and, inside DataLoader workers, from ``seed``
    mixed with the worker's torch seed, so workers and epochs differ and a run
    replays when torch and the sampler are seeded the same way.

    Args:
        recipe: a built-in recipe name (``pairgen recipes`` lists them), a YAML
            path, a dict or a :class:`~pairgen.recipe.Recipe`.
        size: output side of the global views (default: the recipe's).
        seed: base seed; default one drawn from torch's global generator.
        device: where the random stage runs (default CPU).
        mode: ``"auto"``, ``"device"`` (random stage in ``__call__``) or
            ``"worker"`` (in ``collate``).
        max_side: images with a longer side are shrunk in ``collate`` (default
            ``max(512, 2 * size)``).
        dtype: dtype of the views.
        saliency: ``fn(batch) -> (B, 1, H, W)`` maps for recipes that need saliency
            when items bring none (default: pairgen's built-in saliency).
        tv_tensors: return the views as ``torchvision.tv_tensors.Image`` (masks, boxes and
            keypoints the items bring come back as tv_tensors either way).

    Raises:
        ConfigurationError: a bad size, mode, seed or ``max_side``, or a ``device`` this
            machine does not have.
        RecipeError: an unknown or invalid recipe.
        ValueError: for the recipes of :data:`PARTNER_RECIPES` (``instance``,
            ``temporal``), whose views need a partner image: use
            :class:`~pairgen.positive_sampler.PositivePairSampler`.

    Example:
        >>> sampler = PairSampler("simclr", size=64, seed=0)
        >>> pairs = sampler(sampler.collate([torch.rand(3, 80, 100)] * 4))
        >>> pairs.view1.shape, pairs.params1.boxes.shape
        (torch.Size([4, 3, 64, 64]), torch.Size([4, 4]))
    """

    def __init__(
        self,
        recipe: str | Path | dict | Recipe = "simclr",
        size: int | None = None,
        seed: int | None = None,
        device: str | torch.device | None = None,
        mode: str = "auto",
        max_side: int | None = None,
        dtype: torch.dtype = torch.float32,
        saliency: SaliencyFn | None = None,
        tv_tensors: bool = False,
    ):
        self.recipe = load_recipe(recipe)
        if size is not None:
            if not isinstance(size, int) or size < 1:
                raise ConfigurationError(f"size must be a positive int, got {size!r}")
            self.recipe = self.recipe.with_size(size)
        if self.recipe.name in PARTNER_RECIPES and type(self).view_rows is PairSampler.view_rows:
            raise ValueError(
                f"recipe {self.recipe.name!r} pairs an item with a partner image: use "
                "pairgen.positive_sampler.PositivePairSampler with pairgen.positives.InstancePairs or TemporalPairs "
                "(PairSampler would render both views from one image)"
            )
        self.views = self.recipe.expanded_views
        self.device = available_device(device)
        if mode not in ("auto", "device", "worker"):
            raise ConfigurationError(f"mode must be 'auto', 'device' or 'worker', got {mode!r}")
        self.mode = ("worker" if self.device.type == "cpu" else "device") if mode == "auto" else mode
        if seed is None:
            seed = int(torch.randint(0, 1 << 62, (1,)))
        if not isinstance(seed, int) or seed < 0:
            raise ConfigurationError(f"seed must be a non-negative int, got {seed!r}")
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        largest = max(max(v.output_size) for v in self.views)
        self.max_side = max_side if max_side is not None else max(512, 2 * largest)
        if self.max_side < 1:
            raise ConfigurationError(f"max_side must be positive, got {self.max_side}")
        self.dtype = dtype
        self.saliency = saliency
        self.tv_tensors = tv_tensors
        self._calls = 0

    def __repr__(self) -> str:
        return f"PairSampler(recipe={self.recipe.name!r}, views={len(self.views)}, device={str(self.device)!r}, mode={self.mode!r}, seed={self.seed})"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["generator"] = self.generator.get_state()
        return state

    def __setstate__(self, state):
        generator = torch.Generator()
        generator.set_state(state["generator"])
        self.__dict__.update(state, generator=generator)

    def collate(self, items: Sequence[Any]) -> ImageBatch | PairBatch:
        """The DataLoader ``collate_fn``: a canvas batch, or finished pairs in worker mode."""
        batch = collate_items(items, self.max_side)
        if self.mode == "worker":
            return self.generate(batch, self.next_seeds(len(batch)))
        return batch

    def __call__(self, batch: ImageBatch | PairBatch | Sequence[Any]) -> PairBatch:
        """Views for a collated batch (or a list of items), on ``device``."""
        if isinstance(batch, PairBatch):
            return batch if batch.view1.device == self.device else batch.to(self.device, non_blocking=True)
        if not isinstance(batch, ImageBatch):
            batch = collate_items(batch, self.max_side)
        return self.generate(batch.to(self.device, non_blocking=True), self.next_seeds(len(batch)))

    def next_seeds(self, n: int) -> torch.Tensor:
        """``n`` per-sample seeds: from the sampler's generator, or worker-aware inside a DataLoader worker."""
        if get_worker_info() is not None:
            seeds = worker_seeds(self.seed, self._calls, n)
        else:
            seeds = new_seeds(self.generator, n)
        self._calls += 1
        return seeds

    def sample(self, batch: ImageBatch, seeds: torch.Tensor) -> list[ViewParams]:
        """The params of every view, drawn from the ``(B,)`` per-sample ``seeds``."""
        if batch.needs_saliency and self.recipe.needs_saliency:
            batch = batch.with_saliency(self.saliency_maps(batch))
        seeds = seeds.to(batch.images.device)
        params: list[ViewParams] = []
        for index, spec in enumerate(self.views):
            rows = self.view_rows(len(batch), index)
            source = batch if rows is None else batch.rows(rows)
            params.append(spec.sample(source, derive_seeds(seeds, index), params))
        return params

    def apply(self, batch: ImageBatch, params: list[ViewParams]) -> list[torch.Tensor]:
        """Render the views described by ``params`` (one per view of the recipe)."""
        if len(params) != len(self.views):
            raise ValueError(f"params must hold {len(self.views)} views for recipe {self.recipe.name!r}, got {len(params)}")
        mean = self.recipe.mean or (0.0, 0.0, 0.0)
        std = self.recipe.std or (1.0, 1.0, 1.0)
        on_cpu = batch.images.device.type == "cpu"
        canvas = batch.images if on_cpu else batch.images.float()
        shared = on_cpu and get_worker_info() is not None
        views = []
        for index, (spec, p) in enumerate(zip(self.views, params)):
            rows = self.view_rows(len(batch), index)
            source, images = (batch, canvas) if rows is None else (batch.rows(rows), canvas[rows])
            out = _shared_empty((len(p), 3, *p.size), self.dtype) if shared else None
            views.append(spec.apply(source, p, mean, std, self.dtype, images=images, out=out))
        return views

    def view_rows(self, batch_size: int, view: int) -> slice | None:
        """Which images of a batch view ``view`` is drawn from (``None``: all, one per sample).

        The hook for samplers whose views come from different images, such as
        :class:`pairgen.positive_sampler.PositivePairSampler`."""
        return None

    def generate(self, batch: ImageBatch, seeds: torch.Tensor) -> PairBatch:
        """Sample and render all views of ``batch`` from its ``(B,)`` per-sample ``seeds``, with
        the items' masks, boxes and keypoints moved into each view (:mod:`pairgen.annotations`)."""
        from pairgen.annotations import annotate

        seeds = seeds.to(batch.images.device)
        if batch.needs_saliency and self.recipe.needs_saliency:
            batch = batch.with_saliency(self.saliency_maps(batch))
        params = self.sample(batch, seeds)
        views = self.apply(batch, params)
        if self.tv_tensors:
            from torchvision import tv_tensors

            views = [tv_tensors.Image(view) for view in views]
        return PairBatch(
            views=views,
            params=params,
            seeds=seeds,
            labels=batch.labels,
            sources=batch.sources,
            index=batch.index,
            times=batch.times,
            recipe=self.recipe.name,
            **annotate(self.views, batch, params, self.view_rows),
            sizes=batch.sizes,
            view_ops=tuple(spec.ops for spec in self.views),
        )

    def replay(self, items: Sequence[Any], seeds: torch.Tensor) -> PairBatch:
        """The views of ``items`` for their per-sample ``seeds`` (``pairs.seeds``), in any mode.

        Example:
            >>> sampler = PairSampler("simclr", size=32, seed=0)
            >>> items = [torch.rand(3, 40, 50), torch.rand(3, 60, 30)]
            >>> pairs = sampler(sampler.collate(items))
            >>> torch.equal(sampler.replay(items, pairs.seeds).view2, pairs.view2)
            True
        """
        return self.generate(collate_items(items, self.max_side).to(self.device), seeds)

    def transform(self, item: Any) -> list[torch.Tensor]:
        """Per-sample mode, for a ``Dataset``'s ``__getitem__`` (like lightly's transforms).

        Returns one ``(3, h, w)`` tensor per view. Seeds are worker-aware as in
        :meth:`collate`, so the distribution is the batched one.
        """
        pairs = self.generate(collate_items([item], self.max_side), self.next_seeds(1))
        return [view[0] for view in pairs.views]

    def saliency_maps(self, batch: ImageBatch) -> torch.Tensor:
        """``(B, 1, H, W)`` saliency maps for the batch's canvas: the ``saliency`` function given
        to the sampler, else pairgen's built-in saliency (:func:`pairgen.saliency.batch_saliency`)."""
        if self.saliency is not None:
            return self.saliency(batch)
        from pairgen.saliency import batch_saliency

        return batch_saliency(batch)


def available_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device`` (default CPU), checked to exist on this machine.

    Raises:
        ConfigurationError: an unknown device string, or a device this machine does not have
            (``"cuda"`` without a usable GPU, a GPU index past the last one).
    """
    available = ", ".join(["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())])
    try:
        device = torch.device(device if device is not None else "cpu")
    except (RuntimeError, TypeError) as error:
        raise ConfigurationError(f"device {device!r} is not a device name; available here: {available}") from error
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigurationError(f"device {str(device)!r} is not available: this machine has "
                                 f"{torch.cuda.device_count()} CUDA GPU(s); available here: {available}")
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        raise ConfigurationError(f"device {str(device)!r} is not available on this machine; "
                                 f"available here: {available}") from error
    return device


def _shared_empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised CPU tensor in shared memory, allocated as torch's ``default_collate``
    does inside DataLoader workers: the batch then reaches the main process without the
    copy into shared memory that sending a private tensor costs."""
    numel = 1
    for side in shape:
        numel *= side
    storage = torch.empty(0, dtype=dtype)._typed_storage()._new_shared(numel)
    return torch.empty(0, dtype=dtype).new(storage).view(shape)
