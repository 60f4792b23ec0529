"""ONNX export by tracing: ``glassnet.onnx.export(model, sample_input, path)``.

The forward runs on the sample with every op of ``glassnet.ops`` recorded (:func:`trace`), and
each recorded op becomes ONNX nodes through its converter (:data:`CONVERTERS`, filled by the
``@converter`` decorator in the ``_elementwise``, ``_shape`` and ``_layers`` modules), written into
a :class:`Graph`. Any Module exports, not only known layer types; an op without a converter is an
:class:`UnsupportedOpError` naming it and the module that called it. The ``onnx`` package is an
optional extra (``pip install glassnet[onnx]``), imported only when a graph is written.

Example
-------
>>> import os, tempfile, numpy as np, glassnet as gn
>>> import glassnet.onnx  # a subpackage, imported on its own (like glassnet.sklearn)
>>> from glassnet import nn
>>> model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Tanh(), nn.Linear(4, 1, rng=1))
>>> folder = tempfile.TemporaryDirectory()
>>> path = gn.onnx.export(model, np.zeros((3, 2), np.float32), os.path.join(folder.name, "m.onnx"))
>>> os.path.basename(path)
'm.onnx'
>>> folder.cleanup()
"""

from . import _elementwise, _layers, _shape  # noqa: F401 - they register the converters
from ._dynamic import Dim
from ._export import export
from ._graph import Graph
from ._registry import CONVERTERS, UnsupportedOpError, converter
from ._trace import Call, trace

__all__ = ["CONVERTERS", "Call", "Dim", "Graph", "UnsupportedOpError", "converter", "export", "trace"]
