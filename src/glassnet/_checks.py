"""Argument checks shared by the whole library: one calling convention, one exception policy.

Every check is called as ``check(value, name, ...)`` and returns the value normalized (an
``int``, a ``float``, a ``bool``, a NumPy dtype), so that a constructor reads
``self.hidden_size = positive_int(hidden_size, "hidden_size")``.

- A value of the wrong type raises **TypeError**; a value of the right type that is out of range
  raises **ValueError**. ``bool`` is never accepted as a number: ``True`` is an int to Python,
  but ``batch_size=True`` is a mistake.
- Messages name the argument, what was expected and the value got:
  ``hidden_size must be a positive int, got 0``; a TypeError also names the type got:
  ``lr must be a real number, got str '0.1'``.

This module sits at the bottom of the layer order: it imports only NumPy and the standard
library, so tensor, ops, functional, nn, optim, data and train may all import it.

Example
-------
>>> from glassnet._checks import positive_int, probability
>>> positive_int(3, "hidden_size")
3
>>> probability(0.25, "p")
0.25
>>> positive_int(True, "batch_size")
Traceback (most recent call last):
    ...
TypeError: batch_size must be a positive int, got bool True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, Literal, TypeVar, overload

import numpy as np

_T = TypeVar("_T")

__all__ = [
    "FLOAT_DTYPES", "boolean", "float_dtype", "integer", "non_negative_int", "non_negative_number",
    "number_in_range", "one_of", "positive_int", "positive_number", "probability", "real_number",
    "too_large_for",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
"""The dtypes a Tensor may hold: float32 (the default) and float64 (gradient checks)."""


def _got(value: object) -> str:
    """The type and the value, for a TypeError: ``str '0.1'``."""
    return f"{type(value).__name__} {value!r}"


# ---- integers ----------------------------------------------------------------------------------
# The overloads tell a type checker what the checks return: None only where allow_none=True lets it
# through, so ``self.size = positive_int(size, "size")`` is an ``int`` to the code that uses it.
@overload
def integer(value: Any, name: str, *, minimum: int | None = None, allow_none: Literal[False] = False) -> int: ...
@overload
def integer(value: Any, name: str, *, minimum: int | None = None, allow_none: bool) -> int | None: ...
def integer(value: Any, name: str, *, minimum: int | None = None, allow_none: bool = False) -> int | None:
    """``value`` as an ``int`` (Python or NumPy integer, not bool), at least ``minimum`` if given.

    With ``allow_none=True`` None is accepted and returned as it is (e.g. "no padding index").

    >>> from glassnet._checks import integer
    >>> integer(-2, "axis")
    -2
    >>> integer(1, "n_samples", minimum=4)
    Traceback (most recent call last):
        ...
    ValueError: n_samples must be an int >= 4, got 1
    """
    if value is None and allow_none:
        return None
    if minimum is None:
        expected = "an int"
    elif minimum == 1:
        expected = "a positive int"
    else:
        expected = f"an int >= {minimum}"
    if allow_none:
        expected += " or None"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {expected}, got {_got(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be {expected}, got {value}")
    return int(value)


@overload
def positive_int(value: Any, name: str, *, allow_none: Literal[False] = False) -> int: ...
@overload
def positive_int(value: Any, name: str, *, allow_none: bool) -> int | None: ...
def positive_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    """``value`` as an ``int`` >= 1 (or None, with ``allow_none=True``).

    >>> from glassnet._checks import positive_int
    >>> positive_int(None, "batch_size", allow_none=True) is None
    True
    """
    return integer(value, name, minimum=1, allow_none=allow_none)


@overload
def non_negative_int(value: Any, name: str, *, allow_none: Literal[False] = False) -> int: ...
@overload
def non_negative_int(value: Any, name: str, *, allow_none: bool) -> int | None: ...
def non_negative_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    """``value`` as an ``int`` >= 0 (or None, with ``allow_none=True``).

    >>> from glassnet._checks import non_negative_int
    >>> non_negative_int(0, "patience")
    0
    """
    return integer(value, name, minimum=0, allow_none=allow_none)


# ---- real numbers ------------------------------------------------------------------------------
def real_number(value: Any, name: str) -> float:
    """``value`` as a finite ``float`` (any real number: int, float, NumPy scalar; not bool).

    >>> from glassnet._checks import real_number
    >>> real_number(2, "alpha")
    2.0
    >>> real_number(float("nan"), "alpha")
    Traceback (most recent call last):
        ...
    ValueError: alpha must be finite, got nan
    """
    if type(value) is float and math.isfinite(value):  # the common case, checked without the ABC
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_got(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


@overload
def number_in_range(value: Any, name: str, low: float = ..., high: float = ..., *,
                    include_low: bool = ..., include_high: bool = ...,
                    allow_none: Literal[False] = False) -> float: ...
@overload
def number_in_range(value: Any, name: str, low: float = ..., high: float = ..., *,
                    include_low: bool = ..., include_high: bool = ...,
                    allow_none: bool) -> float | None: ...
def number_in_range(value: Any, name: str, low: float = -math.inf, high: float = math.inf, *,
                    include_low: bool = True, include_high: bool = True,
                    allow_none: bool = False) -> float | None:
    """``value`` as a finite ``float`` between ``low`` and ``high`` (each end included or not),
    or None with ``allow_none=True``.

    The message writes the interval as mathematics does: ``in [0, 1)``, ``> 0``, ``<= 1``.

    >>> from glassnet._checks import number_in_range
    >>> number_in_range(0.5, "factor", 0, 1, include_low=False, include_high=False)
    0.5
    >>> number_in_range(1.5, "factor", 0, 1, include_low=False, include_high=False)
    Traceback (most recent call last):
        ...
    ValueError: factor must be in (0, 1), got 1.5
    """
    if type(value) is float and low < value < high:  # the common case: strictly inside, finite
        return value
    if value is None and allow_none:
        return None
    number = real_number(value, name)
    above = number >= low if include_low else number > low
    below = number <= high if include_high else number < high
    if not (above and below):
        expected = _interval(low, high, include_low, include_high) + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {expected}, got {value}")
    return number


def _interval(low: float, high: float, include_low: bool, include_high: bool) -> str:
    if high == math.inf:
        return f"{'>=' if include_low else '>'} {low:g}"
    if low == -math.inf:
        return f"{'<=' if include_high else '<'} {high:g}"
    return f"in {'[' if include_low else '('}{low:g}, {high:g}{']' if include_high else ')'}"


def positive_number(value: Any, name: str) -> float:
    """``value`` as a finite ``float`` > 0: a learning rate, a scale.

    >>> from glassnet._checks import positive_number
    >>> positive_number(0, "lr")
    Traceback (most recent call last):
        ...
    ValueError: lr must be > 0, got 0
    """
    return number_in_range(value, name, 0.0, include_low=False)


def non_negative_number(value: Any, name: str) -> float:
    """``value`` as a finite ``float`` >= 0: an epsilon, a weight decay, a noise level.

    >>> from glassnet._checks import non_negative_number
    >>> non_negative_number(1e-5, "eps")
    1e-05
    """
    return number_in_range(value, name, 0.0)


@overload
def probability(value: Any, name: str, *, include_one: bool = False, allow_none: Literal[False] = False) -> float: ...
@overload
def probability(value: Any, name: str, *, include_one: bool = False, allow_none: bool) -> float | None: ...
def probability(value: Any, name: str, *, include_one: bool = False, allow_none: bool = False) -> float | None:
    """``value`` as a ``float`` in [0, 1), or in [0, 1] with ``include_one=True`` (or None, with
    ``allow_none=True``).

    A dropout rate or a decay factor must stay below 1 (1 drops everything, or never forgets);
    the chance of a random flip may be 1.

    >>> from glassnet._checks import probability
    >>> probability(1.0, "p", include_one=True)
    1.0
    >>> probability(1.0, "dropout")
    Traceback (most recent call last):
        ...
    ValueError: dropout must be in [0, 1), got 1.0
    """
    return number_in_range(value, name, 0.0, 1.0, include_high=include_one, allow_none=allow_none)


# ---- flags, dtypes, options ------------------------------------------------------------------
@overload
def boolean(value: Any, name: str, *, allow_none: Literal[False] = False) -> bool: ...
@overload
def boolean(value: Any, name: str, *, allow_none: bool) -> bool | None: ...
def boolean(value: Any, name: str, *, allow_none: bool = False) -> bool | None:
    """``value`` as a ``bool``: True or False (Python's or NumPy's), or None with ``allow_none=True``.

    >>> from glassnet._checks import boolean
    >>> boolean(1, "bias")
    Traceback (most recent call last):
        ...
    TypeError: bias must be True or False, got int 1
    """
    if value is True or value is False:  # the common case
        return value
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        expected = "True, False or None" if allow_none else "True or False"
        raise TypeError(f"{name} must be {expected}, got {_got(value)}")
    return bool(value)


def float_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """``dtype`` (a NumPy dtype, a type such as ``np.float32`` or a name) as a ``np.dtype``,
    which must be one of :data:`FLOAT_DTYPES`. A wrong dtype is a TypeError.

    >>> import numpy as np
    >>> from glassnet._checks import float_dtype
    >>> float_dtype("float64")
    dtype('float64')
    >>> float_dtype(np.int32)
    Traceback (most recent call last):
        ...
    TypeError: dtype must be float32 or float64, got int32
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from None
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {resolved}")
    return resolved


def one_of(value: _T, name: str, choices: Iterable[object]) -> _T:
    """``value``, which must equal one of ``choices``; the message lists them all.

    When every choice is a string, a value that is not a string is a TypeError.

    >>> from glassnet._checks import one_of
    >>> one_of("relu", "nonlinearity", ("tanh", "relu"))
    'relu'
    >>> one_of("sigmoid", "nonlinearity", ("tanh", "relu"))
    Traceback (most recent call last):
        ...
    ValueError: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'
    """
    choices = tuple(choices)
    if isinstance(value, str) and value in choices:  # the common case: no message to build
        return value
    quoted = [repr(choice) for choice in choices]
    options = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    if all(isinstance(choice, str) for choice in choices) and not isinstance(value, str):
        raise TypeError(f"{name} must be {options}, got {_got(value)}")
    if not any(value is choice or value == choice for choice in choices):
        raise ValueError(f"{name} must be {options}, got {value!r}")
    return value


def too_large_for(values: np.ndarray, dtype) -> np.ndarray:
    """Where ``values`` holds a finite number beyond what the float ``dtype`` holds (1e300 for
    float32, whose largest is 3.4e38): a boolean mask of the values a cast would make infinite,
    so that an error can name them rather than say "NaN or infinite". NaN and inf are not marked.

    >>> import numpy as np
    >>> from glassnet._checks import too_large_for
    >>> too_large_for(np.array([1.0, 1e300, np.inf, np.nan]), np.float32)
    array([False,  True, False, False])
    """
    values = np.asarray(values)
    return np.isfinite(values) & (np.abs(values) > np.finfo(dtype).max)
