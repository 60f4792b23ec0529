"""The plain gradient attributions: Saliency (|df/dx|) and InputXGradient (x * df/dx), Captum's
names and call shape.

Both read the model's score for the ``target`` class, f(x)[target], and its gradient with respect
to every input value, computed in evaluation mode (the model's mode and its parameters' ``.grad``
are left as they were).
"""

from __future__ import annotations

import numpy as np

from .._checks import boolean
from ._common import Attribution, input_gradients, prepare

__all__ = ["InputXGradient", "Saliency"]


class Saliency(Attribution):
    """Saliency maps (Simonyan et al., 2013): the gradient of the target's score with respect to
    each input value, ``df(x)[target] / dx`` (its absolute value by default).

    Parameters
    ----------
    forward_func : Module or callable
        A glassnet model, or a function from a Tensor (N, ...) to a Tensor (N, classes), (N, 1)
        or (N,).

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> from glassnet.explain import Saliency
    >>> model = nn.Linear(3, 2)
    >>> x = np.array([[1.0, -2.0, 0.5]], dtype=np.float32)
    >>> maps = Saliency(model).attribute(x, target=1)      # (1, 3): |W[:, 1]|
    >>> bool(np.allclose(maps[0], np.abs(model.weight.data[:, 1])))
    True
    """

    def attribute(self, inputs, target=None, abs=True, additional_forward_args=None) -> np.ndarray:
        """The saliency of every input value.

        Parameters
        ----------
        inputs : array_like or Tensor, shape (N, ...)
            The examples (a Tensor's values are used, never its graph).
        target : None, int or sequence of N ints
            The class whose score is explained: None for a model with one output per example
            ((N,) or (N, 1)), an int for every example, or one per example.
        abs : bool
            Return ``|df/dx|`` (Captum's default) or the signed gradient.
        additional_forward_args : None, object or tuple
            Passed after the input: ``forward_func(x, *additional_forward_args)``; arrays and
            Tensors with one row per example go with their example.

        Returns
        -------
        ndarray of the inputs' shape, in their float dtype (float32 for integers).
        """
        abs = boolean(abs, "abs")
        x, target, args = prepare(self.forward_func, inputs, target, additional_forward_args)
        _, grads = input_gradients(self.forward_func, x, target, args)
        return np.abs(grads) if abs else grads


class InputXGradient(Attribution):
    """Input times gradient (Shrikumar et al., 2016): ``x * df(x)[target] / dx``, each input value
    times the gradient of the target's score with respect to it.

    For a linear model f(x) = x @ w + b this is each feature's share ``x_i * w_i`` of f(x) - b.

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> from glassnet.explain import InputXGradient
    >>> model = nn.Linear(3, 1)
    >>> x = np.array([[1.0, -2.0, 0.5]], dtype=np.float32)
    >>> shares = InputXGradient(model).attribute(x)       # one output: target=None
    >>> bool(np.isclose(shares.sum(), (model(x) - model.bias).item()))
    True
    """

    def attribute(self, inputs, target=None, additional_forward_args=None) -> np.ndarray:
        """``inputs * gradient``, of the inputs' shape and float dtype (arguments as in
        :meth:`Saliency.attribute`)."""
        x, target, args = prepare(self.forward_func, inputs, target, additional_forward_args)
        _, grads = input_gradients(self.forward_func, x, target, args)
        return x * grads
