"""Shared by the ONNX tests: export a model, check the file with onnx.checker, run it with
onnxruntime and compare with glassnet's own forward (float32: rtol 1e-4, atol 1e-5)."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import glassnet as gn  # noqa: E402
import glassnet.onnx  # noqa: E402, F401

RTOL, ATOL = 1e-4, 1e-5


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # the test machine's cores are shared
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def glassnet_outputs(model, inputs):
    """The model's outputs on ``inputs`` (a tuple) in eval mode, as a list of arrays."""
    model.eval()
    with gn.no_grad():
        output = model(*[gn.Tensor(x) if x.dtype.kind == "f" else x for x in inputs])
    return [o.numpy() for o in (output if isinstance(output, (tuple, list)) else (output,))]


def export_and_compare(model, make_inputs, sizes, path, **export_options):
    """Export ``model`` with ``make_inputs(sizes[0])`` as the sample, check the file, then compare
    onnxruntime with glassnet on ``make_inputs(size)`` for every size in ``sizes``.

    ``make_inputs(size)`` returns the tuple of input arrays at that size (a batch size, or a pair
    (batch, length)). Returns the loaded ONNX model."""
    sample = make_inputs(sizes[0])
    gn.onnx.export(model, sample if len(sample) > 1 else sample[0], path, **export_options)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    runner = session(path)
    names = [i.name for i in runner.get_inputs()]
    for size in sizes:
        inputs = make_inputs(size)
        expected = glassnet_outputs(model, inputs)
        got = runner.run(None, dict(zip(names, inputs)))
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape, (size, g.shape, e.shape)
            assert g.dtype == e.dtype
            np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL, err_msg=f"size {size}")
    return proto


def op_types(proto) -> list:
    return [node.op_type for node in proto.graph.node]
