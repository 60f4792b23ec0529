""":class:`Upsample`: resizing as a layer, without parameters; the math is
``glassnet.functional.interpolate`` (primitive and backward in ``glassnet.ops.interpolate``)."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._checks import one_of
from ..functional.interpolate import MODES, check_resize
from ..tensor import Tensor
from .module import Module

__all__ = ["Upsample"]


class Upsample(Module):
    """Resize signals (N, C, L) or images (N, C, H, W) to ``size``, or by ``scale_factor``, by
    nearest or (bi)linear interpolation, with PyTorch's ``align_corners=False`` arithmetic: the
    decoder's alternative to a transposed convolution (no parameters, no checkerboard pattern;
    follow it with a convolution to learn the details).

    ``Upsample(2)`` doubles every spatial size: the scale factor comes first, as the layer is
    mostly used, where PyTorch's ``torch.nn.Upsample(2)`` would mean an output SIZE of 2 (its
    first argument is ``size``). Given by name, every argument means what it means in PyTorch.

    Parameters
    ----------
    scale_factor : number, tuple of numbers or None
        Multiplier of each spatial size; the output size is floor(n * scale_factor). Exactly one
        of ``size`` and ``scale_factor`` is given.
    mode : "nearest", "linear" or "bilinear"
        "nearest": each output copies input entry floor(j / scale_factor) (1-D or 2-D);
        "linear" (1-D) and "bilinear" (2-D): each output mixes the two input entries around the
        point its cell centre maps to, position = (j + 0.5) / scale_factor - 0.5.
    size : int, tuple of ints or None
        The output's spatial size (one int for every axis, or one per axis).
    align_corners : None or False
        PyTorch's argument; only its ``False`` arithmetic is implemented.

    Notes
    -----
    The gradient of each output goes back to the input entries it read, with the same weights
    (nearest with an integer factor k: the sum of the k copies).

    Shape
    -----
    - input: ``(N, C, L)`` or ``(N, C, H, W)`` (linear: 3 dimensions; bilinear: 4)
    - output: ``(N, C, L_out)`` or ``(N, C, H_out, W_out)``, each ``size`` or floor(n * scale_factor)

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> nn.Upsample(2)(np.array([[[1.0, 2.0]]])).numpy()
    array([[[1., 1., 2., 2.]]])
    >>> nn.Upsample(2, "bilinear")(np.zeros((8, 3, 4, 5))).shape
    (8, 3, 8, 10)
    >>> nn.Upsample(size=(6, 7), mode="bilinear")(np.zeros((8, 3, 4, 5))).shape
    (8, 3, 6, 7)
    """

    def __init__(self, scale_factor=None, mode: str = "nearest", size=None, align_corners=None) -> None:
        super().__init__()
        self.mode = one_of(mode, "mode", tuple(MODES))
        # Checked now, not at the first call: valid for one of the ranks the mode takes.
        problems = []
        for d in MODES[self.mode]:
            try:
                check_resize(size, scale_factor, d)
                break
            except (TypeError, ValueError) as error:
                problems.append(error)
        else:
            raise problems[-1]
        if align_corners is not None and (self.mode == "nearest" or align_corners is not False):
            raise ValueError(f"align_corners must be None (or False for linear modes), got {align_corners!r}")
        self.size = tuple(size) if isinstance(size, (tuple, list)) else size
        self.scale_factor = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else scale_factor
        self.align_corners = align_corners

    def forward(self, x) -> Tensor:
        shape = np.shape(x.data if isinstance(x, Tensor) else x)
        if len(shape) - 2 not in MODES[self.mode]:
            ranks = " or ".join(str(d + 2) for d in MODES[self.mode])
            raise ValueError(f"Upsample(mode={self.mode!r}) expects an input of {ranks} dimensions "
                             f"(N, C, *spatial), got shape {shape}")
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def get_config(self) -> dict:
        return {"size": self.size, "scale_factor": self.scale_factor, "mode": self.mode,
                "align_corners": self.align_corners}

    def extra_repr(self) -> str:
        given = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{given}, mode={self.mode!r}"
