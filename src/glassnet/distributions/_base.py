"""What every distribution shares: the base class, and the checks of parameters, values and
sample shapes (all of them run before anything is drawn or built).

Parameters follow glassnet's dtype rule (``tensor.as_float_array``): a Tensor keeps its dtype and
its graph, so gradients flow back into it; a float64 array keeps float64; Python numbers, integer
arrays and lists become float32. Constants take the dtype of the Tensors beside them, as in
``a + b``; two Tensors of different dtypes are a TypeError, never a silent upcast.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import ops
from .._checks import non_negative_int
from ..autograd import no_grad
from ..random import get_rng
from ..tensor import Tensor, as_float_array

__all__ = ["Distribution"]


def _describe(value) -> str:
    """A short name of a value for a TypeError: its type, and the value itself when small."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def numeric_array(value, name: str, *, allow_bool: bool = False) -> np.ndarray:
    """``value`` (not a Tensor) as a NumPy array of real numbers, or a TypeError naming ``name``."""
    kinds = "biuf" if allow_bool else "iuf"
    array = None
    if isinstance(value, (np.ndarray, np.generic, numbers.Real, list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError:  # a ragged list
            array = None
    if array is None or array.dtype.kind not in kinds:
        expected = "a Tensor, a NumPy array or a real number" + (" (or booleans)" if allow_bool else "")
        raise TypeError(f"{name} must be {expected}, got {_describe(value)}")
    return array


def as_parameters(*, allow_neg_inf: bool = False, **values) -> list[Tensor]:
    """The parameters (Tensors, arrays, numbers) as Tensors of one float dtype, each finite.

    A Tensor is used as it is (its gradient flows); the others become constants of the Tensors'
    dtype, or, with no Tensor among them, of the dtype glassnet would give them (float64 arrays
    stay float64; numbers become float32). ``allow_neg_inf``: -inf passes (a logit of
    probability 0).
    """
    tensors = {name: value for name, value in values.items() if isinstance(value, Tensor)}
    arrays = {name: numeric_array(value, name) for name, value in values.items() if name not in tensors}
    dtypes = {tensor.dtype for tensor in tensors.values()}
    if len(dtypes) > 1:
        listed = ", ".join(f"{name} {tensor.dtype}" for name, tensor in tensors.items())
        raise TypeError(f"the parameters must share one dtype, got {listed}; convert one with .astype()")
    if dtypes:
        dtype = dtypes.pop()
    else:
        kept = [as_float_array(values[name]).dtype for name in arrays]  # numbers: float32
        dtype = np.dtype(np.float64) if np.dtype(np.float64) in kept else np.dtype(np.float32)
    result = []
    for name, value in values.items():
        if name in arrays:
            try:
                value = Tensor(arrays[name], dtype=dtype)
            except ValueError as error:  # 1e300 into float32
                raise ValueError(f"{name}: {error}") from None
        check_finite(value.data, name, allow_neg_inf=allow_neg_inf)
        result.append(value)
    return result


def first_bad(values: np.ndarray, mask: np.ndarray) -> str:
    """The first value where ``mask`` holds, for a message: ``-0.1``, or ``-0.1 (and 3 more)``."""
    bad = np.asarray(values)[mask]
    more = f" (and {bad.size - 1} more)" if bad.size > 1 else ""
    return f"{float(bad.flat[0]):g}{more}"


def check_finite(values: np.ndarray, name: str, *, allow_neg_inf: bool = False) -> None:
    bad = ~np.isfinite(values)
    if allow_neg_inf:
        bad &= ~np.isneginf(values)
    if np.any(bad):
        raise ValueError(f"{name} must be {'finite or -inf' if allow_neg_inf else 'finite'}, "
                         f"got {first_bad(values, bad)}")


def broadcast_shape(first: tuple, second: tuple, what: str) -> tuple:
    """NumPy's broadcast of two shapes, or a ValueError that names them."""
    try:
        return tuple(np.broadcast_shapes(first, second))
    except ValueError:
        raise ValueError(f"{what}: shapes {first} and {second} do not broadcast") from None


def broadcast_to(tensor: Tensor, shape: tuple) -> Tensor:
    """``tensor`` broadcast to ``shape`` inside the graph: the engine sums the gradient back."""
    if tensor.shape == shape:
        return tensor
    return tensor + np.zeros(shape, dtype=tensor.dtype)


def as_sample_shape(shape) -> tuple:
    """The ``shape`` argument of sample/rsample: an int or a tuple of ints >= 0."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"shape must be an int or a tuple of ints, got {_describe(shape)}")
    return tuple(non_negative_int(size, "shape entries") for size in shape)


class Distribution:
    """The shared part of every distribution (PyTorch's ``torch.distributions.Distribution``).

    ``batch_shape`` is the shape of the parameters (one independent distribution each);
    ``event_shape`` the shape of one draw (``()`` for the three here). ``sample(shape)`` and
    ``rsample(shape)`` return ``shape + batch_shape + event_shape``; ``log_prob(value)`` and
    ``entropy()`` return one number per distribution of the batch.
    """

    has_rsample = False  # whether rsample() exists: a draw that gradients can flow through

    def __init__(self, batch_shape: tuple, event_shape: tuple = (), *, constant: bool = False) -> None:
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        # Made from numbers and arrays alone (no Tensor): a constant, which takes the dtype of the
        # distribution it meets in kl_divergence, as a constant takes a Tensor's in a + b.
        self._constant = constant

    def _parameters(self) -> dict:
        """The parameters by their constructor's names, to rebuild the distribution."""
        raise NotImplementedError

    def _astype(self, dtype) -> Distribution:
        """The same distribution in another float dtype (for a constant one, see __init__)."""
        arrays: dict = {}
        for name, tensor in self._parameters().items():
            try:
                arrays[name] = Tensor(tensor.data, dtype=dtype).data
            except ValueError as error:  # 1e300 into float32
                raise ValueError(f"{type(self).__name__} {name}: {error}") from None
        return type(self)(**arrays)

    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        return self._event_shape

    @property
    def dtype(self) -> np.dtype:
        """The float dtype of the parameters (one for all), of the samples and of every result."""
        return next(iter(self._parameters().values())).dtype

    @property
    @property
    def mean(self) -> Tensor:
        raise NotImplementedError

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def entropy(self) -> Tensor:
        raise NotImplementedError

    def log_prob(self, value) -> Tensor:
        raise NotImplementedError

    def sample(self, shape=(), rng=None) -> Tensor:
        """Draws of shape ``shape + batch_shape + event_shape``, outside the graph (no gradient).

        ``rng``: an int seed, a ``numpy.random.Generator``, or None for glassnet's default
        generator (reset by ``glassnet.seed``).
        """
        full_shape = self._extended_shape(as_sample_shape(shape))
        generator = get_rng(rng)
        with no_grad():
            return Tensor(self._draw(full_shape, generator))

    def rsample(self, shape=(), rng=None) -> Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} has no rsample(): its draws are discrete, so no gradient can flow "
            "through them (there is no reparameterization loc + scale * eps); use sample(), and "
            "log_prob() for a score-function (REINFORCE) gradient")

    def _draw(self, shape: tuple, generator: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _extended_shape(self, sample_shape: tuple) -> tuple:
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def _value(self, value, *, allow_bool: bool = False) -> Tensor:
        """The argument of log_prob as a Tensor of this distribution's dtype, whose shape
        broadcasts with ``batch_shape`` (a value Tensor keeps its graph)."""
        if isinstance(value, Tensor):
            if value.dtype != self.dtype:
                raise TypeError(f"value has dtype {value.dtype}, the distribution {self.dtype}; "
                                "convert one with .astype()")
        else:
            value = Tensor(numeric_array(value, "value", allow_bool=allow_bool).astype(self.dtype))
        broadcast_shape(value.shape, self._batch_shape + self._event_shape,
                        f"{type(self).__name__}.log_prob: value and batch_shape")
        return value

    def _nan(self) -> Tensor:
        """NaN for every distribution of the batch: the answer where a quantity is undefined."""
        return Tensor(np.full(self._batch_shape, np.nan, dtype=self.dtype))

    def __repr__(self) -> str:
        """PyTorch's form: each parameter's value when it is one number, else its shape; then the dtype."""
        shown = [f"{name}: {float(tensor.data) if tensor.ndim == 0 else tensor.shape}"
                 for name, tensor in self._parameters().items()]
        return f"{type(self).__name__}({', '.join(shown)}, dtype={self.dtype})"


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities clamped to [eps, 1 - eps] (eps of the dtype), PyTorch's ``clamp_probs``: so
    that the logits made from them are finite."""
    eps = float(np.finfo(probs.dtype).eps)
    return ops.clip(probs, eps, 1 - eps)
