"""Saliency and InputXGradient equal Captum's formulas computed with PyTorch on a twin of the model
(float64), for every form of target; the dtype and input rules of glassnet.explain."""

import numpy as np
import pytest

import glassnet as gn
from explain_twins import cnn, input_x_gradient, mlp, saliency
from glassnet import nn
from glassnet.explain import InputXGradient, Saliency
from glassnet.explain._common import ForwardArgs, input_gradients, prepare, scores

RNG = np.random.default_rng(1)
X_MLP = RNG.normal(size=(6, 5))
X_CNN = RNG.normal(size=(3, 1, 8, 8))
TARGETS = {"int": 2, "per-example": [0, 2, 1, 2, 0, 1]}


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS.keys())
@pytest.mark.parametrize("abs", [True, False])
def test_saliency_of_an_mlp_equals_torch(target, abs):
    ours, theirs = mlp()
    got = Saliency(ours).attribute(X_MLP, target=target, abs=abs)
    assert got.shape == X_MLP.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, saliency(theirs, X_MLP, target, abs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS.keys())
def test_input_x_gradient_of_an_mlp_equals_torch(target):
    ours, theirs = mlp()
    got = InputXGradient(ours).attribute(X_MLP, target=target)
    np.testing.assert_allclose(got, input_x_gradient(theirs, X_MLP, target), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("target", [3, [0, 3, 1]], ids=["int", "per-example"])
def test_saliency_and_input_x_gradient_of_a_cnn_equal_torch(target):
    ours, theirs = cnn()
    np.testing.assert_allclose(Saliency(ours).attribute(X_CNN, target=target), saliency(theirs, X_CNN, target),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(InputXGradient(ours).attribute(X_CNN, target=target),
                               input_x_gradient(theirs, X_CNN, target), rtol=1e-10, atol=1e-12)


def test_a_model_with_one_output_per_example_takes_target_none():
    ours, theirs = mlp(outputs=1)  # (N, 1)
    np.testing.assert_allclose(Saliency(ours).attribute(X_MLP, abs=False), saliency(theirs, X_MLP, None, False),
                               rtol=1e-10, atol=1e-12)
    def flat(t):
        return ours(t).reshape(len(t))  # (N,)
    np.testing.assert_allclose(InputXGradient(flat).attribute(X_MLP), input_x_gradient(theirs, X_MLP, None),
                               rtol=1e-10, atol=1e-12)
    # target 0 of the (N, 1) output is the same column
    np.testing.assert_allclose(Saliency(ours).attribute(X_MLP, target=0), saliency(theirs, X_MLP, None),
                               rtol=1e-10, atol=1e-12)


def test_a_linear_model_gives_its_weights():
    model = nn.Linear(4, 3, dtype=np.float64, rng=0)
    x = RNG.normal(size=(5, 4))
    np.testing.assert_allclose(Saliency(model).attribute(x, target=1, abs=False),
                               np.tile(model.weight.data[:, 1], (5, 1)))
    np.testing.assert_allclose(InputXGradient(model).attribute(x, target=2), x * model.weight.data[:, 2])


def test_dtypes_follow_the_inputs():
    model = nn.Sequential(nn.Linear(5, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))  # float32 model
    x32 = X_MLP.astype(np.float32)
    got32 = Saliency(model).attribute(x32, target=1)
    assert got32.dtype == np.float32
    got64 = Saliency(model).attribute(X_MLP, target=1)  # float64 in: float64 out (the model computes in float32)
    assert got64.dtype == np.float64
    np.testing.assert_allclose(got64, got32, rtol=1e-6)
    integers = np.arange(10).reshape(2, 5)
    got_int = InputXGradient(model).attribute(integers, target=0)
    assert got_int.dtype == np.float32
    np.testing.assert_allclose(got_int, InputXGradient(model).attribute(integers.astype(np.float32), target=0))


def test_a_tensor_input_gives_its_values_and_keeps_its_graph_untouched():
    ours, theirs = mlp()
    leaf = gn.Tensor(X_MLP, requires_grad=True)
    tensor = leaf * 1.0  # an intermediate Tensor with a graph behind it
    got = Saliency(ours).attribute(tensor, target=1)
    np.testing.assert_allclose(got, saliency(theirs, X_MLP, 1), rtol=1e-10, atol=1e-12)
    assert leaf.grad is None
    tensor.sum().backward()  # the graph is still whole
    np.testing.assert_array_equal(leaf.grad, np.ones_like(X_MLP))


def test_additional_forward_args_follow_their_examples():
    ours, theirs = mlp()

    def shifted(x, shift, scale):  # shift: one row per example; scale: a number
        return ours(x * scale + shift)

    shift = RNG.normal(size=X_MLP.shape)
    got = Saliency(shifted).attribute(X_MLP, target=[0, 1, 2, 0, 1, 2], abs=False,
                                      additional_forward_args=(shift, 2.0))
    expected = 2.0 * saliency(theirs, X_MLP * 2.0 + shift, [0, 1, 2, 0, 1, 2], abs=False)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    one = InputXGradient(lambda x, s: ours(x + s)).attribute(X_MLP, target=1, additional_forward_args=shift)
    np.testing.assert_allclose(one, X_MLP * saliency(theirs, X_MLP + shift, 1, abs=False), rtol=1e-10, atol=1e-12)


def test_forward_args_are_sliced_and_repeated_with_the_rows():
    per_example, other = np.arange(6.0).reshape(3, 2), np.arange(4.0)
    args = ForwardArgs.of((per_example, other, "text"), 3)
    assert args.per_example == (True, False, False)
    rows = args.rows(np.array([2, 0]))
    np.testing.assert_array_equal(rows[0], per_example[[2, 0]])
    assert rows[1] is other and rows[2] == "text"
    np.testing.assert_array_equal(args.tile(2).args[0], np.concatenate([per_example, per_example]))
    np.testing.assert_array_equal(args.repeat(2).args[0], np.repeat(per_example, 2, axis=0))
    tensor_args = ForwardArgs.of(gn.Tensor(per_example), 3)
    assert isinstance(tensor_args.rows(slice(1, 2))[0], gn.Tensor)
    np.testing.assert_array_equal(tensor_args.rows(slice(1, 2))[0].data, per_example[1:2])


@pytest.mark.parametrize("batch_size", [1, 2, 4, 6, 100])
def test_chunks_of_rows_give_the_same_scores_and_gradients(batch_size):
    ours, _ = mlp()
    x, target, args = prepare(ours, X_MLP, [0, 1, 2, 0, 1, 2], None)
    whole_scores, whole_grads = input_gradients(ours, x, target, args)
    chunked_scores, chunked_grads = input_gradients(ours, x, target, args, batch_size=batch_size)
    np.testing.assert_allclose(chunked_grads, whole_grads, rtol=1e-12)
    np.testing.assert_allclose(chunked_scores, whole_scores, rtol=1e-12)
    np.testing.assert_allclose(scores(ours, x, target, args, batch_size=batch_size), whole_scores, rtol=1e-12)
    np.testing.assert_allclose(whole_scores, ours(gn.Tensor(X_MLP)).data[np.arange(6), target], rtol=1e-12)


def test_attribution_inside_no_grad_still_differentiates():
    ours, theirs = mlp()
    with gn.no_grad():
        got = Saliency(ours).attribute(X_MLP, target=0)
        assert not gn.is_grad_enabled()
    np.testing.assert_allclose(got, saliency(theirs, X_MLP, 0), rtol=1e-10, atol=1e-12)
