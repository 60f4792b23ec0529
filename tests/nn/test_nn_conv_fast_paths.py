"""The fast paths of ops.conv and ops.pooling (issue 15) against PyTorch, a window-by-window
reference and finite differences: max-pool's running max (ties, odd sizes, NaN, 1-3 axes) and
the wide column layout of stride-1 convolutions (padding, dilation, non-contiguous inputs)."""

import itertools
import sys

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from oracle import check_against_torch, check_finite_differences

TF = torch.nn.functional


def reference_max_pool(x, kernel, stride):
    """Window by window, no padding or dilation: the max and, for the gradient of sum(y * g),
    the first max of each window (row-major) receiving g."""
    out = tuple((n - k) // s + 1 for n, k, s in zip(x.shape[2:], kernel, stride))
    y = np.empty(x.shape[:2] + out)
    routes = []  # (index of the output, index of the input that receives its gradient)
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for i in np.ndindex(*out):
            corner = [a * s for a, s in zip(i, stride)]
            window = x[(n, c) + tuple(slice(a, a + k) for a, k in zip(corner, kernel))]
            first = np.unravel_index(np.argmax(window), window.shape)
            y[(n, c) + i] = window[first]
            routes.append(((n, c) + i, (n, c) + tuple(a + f for a, f in zip(corner, first))))
    return y, routes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, stride", [
    ((2, 3, 8, 8), (2, 2), (2, 2)),     # LeNet's MaxPool2d(2)
    ((2, 3, 7, 9), (2, 2), (2, 2)),     # odd sizes: the last row and column belong to no window
    ((1, 2, 10, 11), (3, 3), (3, 3)),
    ((2, 2, 9, 7), (3, 2), (2, 1)),     # overlapping windows
    ((2, 2, 13), (4,), (4,)),
    ((1, 2, 5, 4, 6), (2, 2, 3), (2, 2, 3)),
])
def test_max_pool_with_ties_matches_the_reference_and_torch(shape, kernel, stride, dtype):
    """Values 0, 1, 2 (after a ReLU most windows tie at 0): every tie goes to the first max."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=shape).astype(dtype)
    ours = gn.Tensor(x, requires_grad=True)
    y = gn.ops.max_pool(ours, kernel, stride, (0,) * len(kernel), (1,) * len(kernel))
    g = rng.normal(size=y.shape).astype(dtype)
    y.backward(g)
    expected, routes = reference_max_pool(x, kernel, stride)
    expected_grad = np.zeros_like(x)
    for out_index, in_index in routes:
        expected_grad[in_index] += g[out_index]
    np.testing.assert_array_equal(y.numpy(), expected)
    np.testing.assert_allclose(ours.grad, expected_grad, rtol=1e-6)
    assert y.dtype == dtype and ours.grad.dtype == dtype
    pool = {1: TF.max_pool1d, 2: TF.max_pool2d, 3: TF.max_pool3d}[len(kernel)]
    check_against_torch(lambda t: gn.ops.max_pool(t, kernel, stride, (0,) * len(kernel), (1,) * len(kernel)),
                        lambda t: pool(t, kernel, stride), x, dtype=dtype)


def test_max_pool_nan_wins_its_window_and_gets_the_gradient():
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 0, 1] = np.nan  # window (0, 0) of channel 0
    x[0, 1, 3, 2] = np.nan  # window (1, 1) of channel 1
    ours = gn.Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, ty = F.max_pool2d(ours, 2), TF.max_pool2d(theirs, 2)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())  # NaN where torch has NaN
    g = np.arange(8.0).reshape(y.shape) + 1
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())
    assert ours.grad[0, 0, 0, 1] == 1.0 and ours.grad[0, 1, 3, 2] == 8.0


def test_max_pool_finite_differences_non_overlapping():
    x = np.random.default_rng(1).permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) * 0.1
    check_finite_differences(lambda t: F.max_pool2d(t, 2), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, padding, dilation", [
    ((2, 1, 12, 12), (5, 5), (2, 2), (1, 1)),       # LeNet's first layer, small
    ((2, 3, 9, 7), (3, 2), (1, 0), (2, 1)),
    ((2, 2, 6, 8), (1, 3), (0, 1), (1, 1)),
    ((1, 2, 5, 4, 6), (2, 3, 2), (1, 0, 1), (1, 1, 2)),
])
def test_stride_one_convolution_in_the_wide_layout_matches_torch(shape, kernel, padding, dilation, dtype):
    rng = np.random.default_rng(2)
    x = rng.normal(size=shape)
    w = rng.normal(size=(4, shape[1]) + kernel)
    b = rng.normal(size=4)
    conv = {2: TF.conv2d, 3: TF.conv3d}[len(kernel)]
    atol, rtol = (1e-4, 1e-4) if dtype == np.float32 else (1e-6, 1e-5)
    check_against_torch(lambda t, u, v: gn.ops.conv(t, u, v, (1,) * len(kernel), padding, dilation),
                        lambda t, u, v: conv(t, u, v, 1, padding, dilation), x, w, b, dtype=dtype,
                        atol=atol, rtol=rtol)


def test_wide_convolution_of_a_non_contiguous_input_and_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 7, 6, 3)).transpose(0, 3, 1, 2)  # (2, 3, 7, 6), a view
    w = rng.normal(size=(2, 3, 3, 3))
    ours = gn.ops.conv(gn.Tensor(x), gn.Tensor(w), None, (1, 1), (1, 1), (1, 1)).numpy()
    theirs = TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    check_finite_differences(lambda t, u: gn.ops.conv(t, u, None, (1, 1), (1, 2), (2, 1)),
                             rng.normal(size=(1, 2, 6, 5)), rng.normal(size=(2, 2, 2, 3)))


# ---- the reused work areas (ops.conv.buffer) -------------------------------------------------
def lenet_like(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return (gn.Tensor(rng.normal(size=(3, 1, 3, 3)).astype(dtype), requires_grad=True),
            gn.Tensor(rng.normal(size=(4, 3, 2, 2)).astype(dtype), requires_grad=True))


def lenet_loss(x, w1, w2):
    h = F.max_pool2d(F.conv2d(x, w1, padding=1).relu(), 2)
    return (F.conv2d(h, w2) ** 2).sum()


def torch_gradients(x, w1, w2):
    tx, t1, t2 = (torch.tensor(a, requires_grad=True) for a in (x, w1, w2))
    h = TF.max_pool2d(TF.conv2d(tx, t1, padding=1).relu(), 2)
    (TF.conv2d(h, t2) ** 2).sum().backward()
    return [t.grad.numpy() for t in (tx, t1, t2)]


def check_step(x, w1, w2):
    """One fresh step: glassnet's gradients of x, w1, w2 equal torch's."""
    xt = gn.Tensor(x, requires_grad=True)
    for w in (w1, w2):
        w.grad = None
    lenet_loss(xt, w1, w2).backward()
    for got, want in zip((xt.grad, w1.grad, w2.grad), torch_gradients(x, w1.data, w2.data)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)
    return xt.grad


def test_buffers_two_consecutive_steps_of_different_shapes_get_correct_gradients():
    w1, w2 = lenet_like()
    rng = np.random.default_rng(1)
    shapes = [(2, 1, 8, 8), (3, 1, 10, 12), (2, 1, 8, 8), (2, 1, 8, 8)]
    grads, copies = [], []
    for shape in shapes:  # each step checked against torch
        grads.append(check_step(rng.normal(size=shape), w1, w2))
        copies.append(grads[-1].copy())
    # Gradients still held are never overwritten by later steps of the same shapes.
    for grad, copy in zip(grads, copies):
        np.testing.assert_array_equal(grad, copy)
    assert not np.shares_memory(grads[2], grads[3])


def test_buffers_a_graph_kept_alive_with_retain_graph_gives_the_same_gradients_later():
    w1, w2 = lenet_like()
    rng = np.random.default_rng(2)
    x_kept = rng.normal(size=(2, 1, 8, 8))
    kept = gn.Tensor(x_kept, requires_grad=True)
    loss = lenet_loss(kept, w1, w2)
    loss.backward(retain_graph=True)
    first = kept.grad.copy()
    # Other steps of the same shapes run while the kept graph (and its columns) is alive.
    for _ in range(2):
        check_step(rng.normal(size=(2, 1, 8, 8)), w1, w2)
    kept.grad = None
    w1.grad = w2.grad = None
    loss.backward()  # the retained graph's second pass
    np.testing.assert_allclose(kept.grad, first, rtol=1e-12)
    np.testing.assert_allclose(kept.grad, torch_gradients(x_kept, w1.data, w2.data)[0], rtol=1e-9)


def test_buffer_is_reused_only_when_nothing_references_it():
    from glassnet.ops.conv import buffer

    a = buffer(("test",), (3, 4), np.float32)
    held = a[1:]  # a view keeps a in use
    del a
    b = buffer(("test",), (3, 4), np.float32)
    assert not np.shares_memory(b, held)
    del held
    b_id = id(b)
    b[:] = 7
    del b
    c = buffer(("test",), (3, 4), np.float32, zero=True)
    assert id(c) == b_id and not c.any()  # free: the same array, zeroed on request
    assert buffer(("test",), (3, 4), np.float64).dtype == np.float64


# ---- convolutions made a block of images at a time (ops.conv.image_blocks) -------------------
@pytest.fixture
def two_images_per_block(monkeypatch):
    """Blocks of at most two images for any convolution with few rows (a batch of 5: 2, 2, 1)."""
    conv_module = sys.modules["glassnet.ops.conv"]  # glassnet.ops.conv is also the function's name
    monkeypatch.setattr(conv_module, "image_blocks", lambda n, rows, size: [
        (start, min(n, start + 2)) for start in range(0, n, 2)] or [(0, 0)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", [
    ((5, 1, 12, 12), (5, 5), (1, 1), (2, 2), (1, 1)),     # LeNet's first layer: the wide layout
    ((5, 2, 9, 8), (3, 3), (2, 1), (1, 0), (1, 2)),       # stride 2: the plain layout
    ((5, 3, 11), (3,), (1,), (1,), (1,)),                 # 1-D
    ((3, 2, 4, 5, 4), (2, 2, 2), (1, 1, 1), (1, 0, 1), (1, 1, 1)),
    ((5, 8, 7, 6), (3, 3), (1, 1), (1, 1), (1, 1)),       # 72 rows: blocks into one kept matrix (wide)
    ((5, 9, 9, 8), (3, 3), (2, 1), (0, 1), (1, 1)),       # 81 rows, plain layout
])
def test_convolution_in_blocks_of_images_matches_torch(two_images_per_block, shape, kernel, stride,
                                                       padding, dilation, dtype):
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=shape), rng.normal(size=(4, shape[1]) + kernel), rng.normal(size=4)
    conv = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[len(kernel)]
    atol, rtol = (1e-4, 1e-4) if dtype == np.float32 else (1e-9, 1e-9)
    check_against_torch(lambda t, u, v: gn.ops.conv(t, u, v, stride, padding, dilation),
                        lambda t, u, v: conv(t, u, v, stride, padding, dilation), x, w, b, dtype=dtype,
                        atol=atol, rtol=rtol)
    check_against_torch(lambda t, u: gn.ops.conv(t, u, None, stride, padding, dilation),  # no bias
                        lambda t, u: conv(t, u, None, stride, padding, dilation), x, w, dtype=dtype,
                        atol=atol, rtol=rtol)


def test_lenet_first_layer_at_batch_64_runs_in_blocks_and_matches_torch():
    from glassnet.ops.conv import image_blocks

    # 25 rows of 892 wide-layout columns per image, float32: several blocks, the last one shorter
    blocks = image_blocks(64, 25, 25 * 892 * 4)
    assert len(blocks) > 1 and blocks[0] == (0, blocks[0][1]) and blocks[-1][1] == 64
    rng = np.random.default_rng(5)
    x, w, b = rng.normal(size=(64, 1, 28, 28)), rng.normal(size=(6, 1, 5, 5)), rng.normal(size=6)
    check_against_torch(lambda t, u, v: gn.ops.conv(t, u, v, (1, 1), (2, 2), (1, 1)),
                        lambda t, u, v: TF.conv2d(t, u, v, 1, 2), x, w, b, atol=1e-9, rtol=1e-9)
    # float32: the weight gradient sums 50176 products; within float32's rounding of the exact sum
    # (PyTorch's own float32 result is ~10x further from it here)
    upstream = rng.normal(size=(64, 6, 28, 28))
    tw = torch.tensor(w, requires_grad=True)
    TF.conv2d(torch.tensor(x), tw, torch.tensor(b), 1, 2).backward(torch.tensor(upstream))
    ours = gn.Tensor(w.astype(np.float32), requires_grad=True)
    gn.ops.conv(gn.Tensor(x.astype(np.float32)), ours, gn.Tensor(b.astype(np.float32)), (1, 1), (2, 2),
                (1, 1)).backward(upstream.astype(np.float32))
    exact = tw.grad.numpy()
    np.testing.assert_allclose(ours.grad, exact, rtol=0, atol=1e-5 * np.abs(exact).max())


def test_lenet_second_layer_at_batch_64_makes_its_columns_in_blocks_of_one_kept_matrix():
    # 150 rows (> _BLOCK_ROWS): the forward writes each block's columns into one matrix that the
    # backward's products use whole; two steps, the second one with the matrix reused.
    from glassnet.ops.conv import _BLOCK_ROWS, image_blocks

    assert 150 > _BLOCK_ROWS and len(image_blocks(64, 150, 150 * 136 * 4)) > 1
    rng = np.random.default_rng(8)
    for _ in range(2):
        x, w, b = rng.normal(size=(64, 6, 14, 14)), rng.normal(size=(16, 6, 5, 5)), rng.normal(size=16)
        check_against_torch(lambda t, u, v: gn.ops.conv(t, u, v, (1, 1), (0, 0), (1, 1)),
                            lambda t, u, v: TF.conv2d(t, u, v), x, w, b, atol=1e-9, rtol=1e-9)


def test_blocks_a_retained_graph_and_steps_of_other_shapes_in_between(two_images_per_block):
    w1, w2 = lenet_like()
    rng = np.random.default_rng(6)
    x_kept = rng.normal(size=(5, 1, 8, 8))
    kept = gn.Tensor(x_kept, requires_grad=True)
    loss = lenet_loss(kept, w1, w2)
    loss.backward(retain_graph=True)
    first = kept.grad.copy()
    for shape in [(5, 1, 8, 8), (3, 1, 10, 12), (5, 1, 8, 8)]:  # each step checked against torch
        check_step(rng.normal(size=shape), w1, w2)
    kept.grad = None
    w1.grad = w2.grad = None
    loss.backward()
    np.testing.assert_allclose(kept.grad, first, rtol=1e-12)
    np.testing.assert_allclose(kept.grad, torch_gradients(x_kept, w1.data, w2.data)[0], rtol=1e-9)


@pytest.mark.parametrize("shape, padding", [((0, 1, 28, 28), (2, 2)), ((0, 3, 9), (1,))])
def test_a_batch_of_no_images_convolves_to_no_outputs_and_zero_weight_gradients(shape, padding):
    rng = np.random.default_rng(7)
    kernel = (5, 5) if len(shape) == 4 else (3,)
    x = gn.Tensor(np.zeros(shape, np.float32), requires_grad=True)
    w = gn.Tensor(rng.normal(size=(4, shape[1]) + kernel).astype(np.float32), requires_grad=True)
    b = gn.Tensor(np.ones(4, np.float32), requires_grad=True)
    y = gn.ops.conv(x, w, b, (1,) * len(kernel), padding, (1,) * len(kernel))
    assert y.shape[:2] == (0, 4)
    y.backward(np.zeros(y.shape, np.float32))
    assert x.grad.shape == shape and not w.grad.any() and not b.grad.any()


def test_kept_column_matrix_of_a_retained_graph_survives_later_steps(two_images_per_block):
    # 72 rows, blocks of two images into one kept matrix: steps of the same shape in between (the
    # same work-area key) must not write into the matrix a retained graph still holds.
    rng = np.random.default_rng(9)
    w = gn.Tensor(rng.normal(size=(3, 8, 3, 3)), requires_grad=True)

    def loss_of(x):
        return (gn.ops.conv(x, w, None, (1, 1), (1, 1), (1, 1)) ** 2).sum()

    x_kept = rng.normal(size=(5, 8, 6, 6))
    loss = loss_of(gn.Tensor(x_kept))
    loss.backward(retain_graph=True)
    first = w.grad.copy()
    tw = torch.tensor(w.data, requires_grad=True)
    (TF.conv2d(torch.tensor(x_kept), tw, padding=1) ** 2).sum().backward()
    np.testing.assert_allclose(first, tw.grad.numpy(), rtol=1e-9)
    for _ in range(2):
        w.grad = None
        loss_of(gn.Tensor(rng.normal(size=(5, 8, 6, 6)))).backward()
    w.grad = None
    loss.backward()
    np.testing.assert_allclose(w.grad, first, rtol=1e-12)
