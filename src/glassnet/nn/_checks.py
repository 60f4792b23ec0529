"""TEMPORARY re-export of :mod:`glassnet._checks`, the library's one module of argument checks.

Kept only so that ``nn/activation.py``, ``nn/normalization.py`` and ``nn/transformer.py``
(being rewritten on other branches) still import; new code imports ``glassnet._checks``.
Remove once nothing imports ``glassnet.nn._checks``.
"""

from .._checks import FLOAT_DTYPES, float_dtype, positive_int, real_number

_FLOAT_DTYPES = FLOAT_DTYPES

__all__ = ["float_dtype", "positive_int", "real_number"]
