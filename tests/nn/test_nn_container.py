"""nn.Sequential: composition, indexing, slicing, append, names, repr; a whole MLP vs PyTorch."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn


def make_pair():
    ours = nn.Sequential(nn.Linear(2, 4, dtype=np.float64, rng=0), nn.Tanh(),
                         nn.Linear(4, 3, dtype=np.float64, rng=1), nn.ReLU(),
                         nn.Linear(3, 1, dtype=np.float64, rng=2), nn.Sigmoid())
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3),
                                 torch.nn.ReLU(), torch.nn.Linear(3, 1), torch.nn.Sigmoid()).double()
    with torch.no_grad():
        for name, parameter in theirs.named_parameters():
            value = ours.state_dict()[name]
            parameter.copy_(torch.tensor(value.T if name.endswith("weight") else value))
    return ours, theirs


def test_sequential_mlp_matches_torch(rng):
    ours, theirs = make_pair()
    x = rng.normal(size=(8, 2))
    out = ours(x)
    expected = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-14)
    out.sum().backward()
    expected.sum().backward()
    their_params = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        expected_grad = their_params[name].grad.numpy()
        np.testing.assert_allclose(parameter.grad, expected_grad.T if name.endswith("weight") else expected_grad,
                                   rtol=1e-10, atol=1e-14, err_msg=name)


def test_sequential_is_composition(rng):
    model, _ = make_pair()
    x = gn.Tensor(rng.normal(size=(5, 2)))
    by_hand = x
    for layer in [model[i] for i in range(len(model))]:
        by_hand = layer(by_hand)
    np.testing.assert_array_equal(model(x).data, by_hand.data)
    np.testing.assert_array_equal(model[:2](x).data, model[1](model[0](x)).data)
    np.testing.assert_array_equal(nn.Sequential()(x).data, x.data)  # empty: identity


def test_indexing_slicing_len_and_iteration():
    model, _ = make_pair()
    layers = list(model)
    assert len(model) == 6 and len(layers) == 6
    assert model[0] is layers[0] and model[-1] is layers[5] and model[np.int64(2)] is layers[2]
    head = model[1:4]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:4]
    assert list(head._modules) == ["1", "2", "3"]  # original names kept, as in PyTorch
    assert [n for n, _ in head.named_parameters()] == ["2.weight", "2.bias"]
    assert list(model[::2]) == layers[::2]
    with pytest.raises(IndexError, match="index 6 is out of range for a Sequential of 6 modules"):
        model[6]
    with pytest.raises(IndexError, match="index -7 is out of range"):
        model[-7]
    with pytest.raises(TypeError, match="indices must be ints or slices, got str"):
        model["0"]


def test_append_names_the_next_index():
    model = nn.Sequential(nn.Linear(2, 3))
    assert model.append(nn.ReLU()) is model
    model.append(nn.Linear(3, 1))
    assert list(model._modules) == ["0", "1", "2"]
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    tail = model[1:]
    tail.append(nn.Sigmoid())  # names "1", "2" are taken: the new one is "3", nothing is replaced
    assert list(tail._modules) == ["1", "2", "3"] and len(tail) == 3


def test_named_modules_from_an_ordered_dict():
    encoder = nn.Sequential(OrderedDict(fc=nn.Linear(3, 2), act=nn.ReLU()))
    model = nn.Sequential(OrderedDict(encoder=encoder, head=nn.Linear(2, 1)))
    assert [n for n, _ in model.named_parameters()] == [
        "encoder.fc.weight", "encoder.fc.bias", "head.weight", "head.bias"]
    assert model[0] is encoder and model[0][1] is encoder.act
    assert model(np.ones((4, 3))).shape == (4, 1)


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="Sequential holds Modules, got function at position 1"):
        nn.Sequential(nn.Linear(2, 2), gn.functional.tanh)
    model = nn.Sequential()
    with pytest.raises(TypeError, match="Sequential holds Modules, got int at position 0"):
        model.append(3)
    assert len(model) == 0


def test_sequential_repr_matches_pytorch():
    ours, theirs = make_pair()
    assert repr(ours) == repr(theirs)
    assert repr(ours[4:]) == repr(theirs[4:]) == (
        "Sequential(\n  (4): Linear(in_features=3, out_features=1, bias=True)\n  (5): Sigmoid()\n)")
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential()) == "Sequential()"
