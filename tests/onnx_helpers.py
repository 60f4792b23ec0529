"""Helpers of the ONNX export tests: run a glassnet model and its exported graph on the same
inputs and compare (float32: rtol 1e-4, atol 1e-5, the issue's tolerance)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

import glassnet as gn
import glassnet.onnx  # noqa: F401  (export_and_compare calls gn.onnx.export)
import onnx
from glassnet import no_grad

RTOL, ATOL = 1e-4, 1e-5


def flatten(output) -> list[np.ndarray]:
    """A model's output (a Tensor, or nested tuples of them) as a flat list of arrays."""
    if isinstance(output, (tuple, list)):
        return [array for part in output for array in flatten(part)]
    return [output.numpy() if isinstance(output, gn.Tensor) else np.asarray(output)]


def glassnet_outputs(model, *inputs) -> list[np.ndarray]:
    """The model's outputs in eval mode, as arrays (the mode is put back after). Float arrays
    go in as Tensors, integer and boolean arrays as they are, as ``export`` passes them."""
    training = model.training
    inputs = tuple(gn.Tensor(a) if a.dtype.kind == "f" else a for a in inputs)
    model.eval()
    try:
        with no_grad():
            return flatten(model(*inputs))
    finally:
        model.train(training)


def session(path):
    """check_model (full) on the file, then an onnxruntime session of it (CPU, one thread: the
    test machine's cores are shared)."""
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_outputs(sess, *inputs) -> list[np.ndarray]:
    names = [i.name for i in sess.get_inputs()]
    assert len(names) == len(inputs), f"the graph has inputs {names}, given {len(inputs)} arrays"
    return sess.run(None, dict(zip(names, inputs)))


def assert_same(model, sess, *inputs, rtol=RTOL, atol=ATOL) -> list[np.ndarray]:
    """onnxruntime's outputs equal glassnet's on ``inputs`` (shapes, dtypes and values)."""
    expected = glassnet_outputs(model, *inputs)
    got = onnx_outputs(sess, *inputs)
    assert len(got) == len(expected), f"{len(got)} outputs, glassnet gives {len(expected)}"
    for index, (ours, theirs) in enumerate(zip(expected, got)):
        assert theirs.shape == ours.shape, f"output {index}: shape {theirs.shape}, glassnet {ours.shape}"
        assert theirs.dtype == ours.dtype, f"output {index}: dtype {theirs.dtype}, glassnet {ours.dtype}"
        np.testing.assert_allclose(theirs, ours, rtol=rtol, atol=atol, err_msg=f"output {index}")
    return got


def export_and_compare(model, make_inputs, sizes, path, **export_options):
    """Export ``model`` with ``make_inputs(sizes[0])`` as the sample, check the file, then compare
    onnxruntime with glassnet on ``make_inputs(size)`` for every size in ``sizes``.

    ``make_inputs(size)`` returns the tuple of input arrays at that size (a batch size, or a pair
    (batch, length)). Returns the loaded ONNX model."""
    sample = make_inputs(sizes[0])
    gn.onnx.export(model, sample if len(sample) > 1 else sample[0], path, **export_options)
    sess = session(path)
    for size in sizes:
        try:
            assert_same(model, sess, *make_inputs(size))
        except AssertionError as error:
            raise AssertionError(f"size {size}: {error}") from None
    return onnx.load(str(path))


def op_types(model) -> list[str]:
    """The op types of a graph, in order: ``model`` a loaded ModelProto or the path of a file."""
    proto = model if hasattr(model, "graph") else onnx.load(str(model))
    return [node.op_type for node in proto.graph.node]
