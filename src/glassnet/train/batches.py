"""How an epoch is cut into batches, shared by :func:`glassnet.fit` and the scikit-learn
estimators (:mod:`glassnet.sklearn`), so that both treat a lone last sample the same way.

Batch normalization trains on the statistics of each batch, and ``BatchNorm1d`` on a batch of
one sample has none (one value per feature, its variance is 0/0): PyTorch raises, and so does
glassnet. With ``merge_lone_last`` a last batch of a single sample joins the batch before it, so
that the epoch never ends on it. (``BatchNorm2d`` takes its statistics over the image's pixels
too, so one image is a batch it can learn from: it needs no merging.)

Example
-------
>>> from glassnet.train.batches import batch_bounds
>>> batch_bounds(33, 32)
[(0, 32), (32, 33)]
>>> batch_bounds(33, 32, merge_lone_last=True)
[(0, 33)]
"""

from __future__ import annotations

from ..nn.module import Module
from ..nn.normalization import BatchNorm1d


def batch_bounds(n_samples: int, batch_size: int | None, *, merge_lone_last: bool = False) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch of ``batch_size`` rows over ``n_samples`` (None: one
    batch of all); the last batch may be smaller. With ``merge_lone_last``, a last batch of one
    sample joins the previous batch (when there is one)."""
    size = n_samples if batch_size is None else batch_size
    starts = list(range(0, n_samples, max(size, 1)))
    if merge_lone_last and len(starts) > 1 and n_samples - starts[-1] == 1:
        starts.pop()  # the lone last sample joins the batch before it
    return list(zip(starts, starts[1:] + [n_samples]))


def batch_norm_layers(model: Module) -> list[str]:
    """The class names of the layers in ``model`` (any depth, in order) that cannot train on a
    batch of one sample: the ``BatchNorm1d`` layers."""
    return [type(module).__name__ for module in model.modules() if isinstance(module, BatchNorm1d)]
