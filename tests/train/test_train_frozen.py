"""Training with a frozen body (issue 12's Verify item): a frozen parameter gets no gradient, no
update and no decay, its state_dict is bit-identical after ``fit``, and a frozen BatchNorm keeps
the source data's running statistics while an unfrozen one follows the new data. The optimizer
may hold the frozen parameters too (built over ``model.parameters()``, as in PyTorch), and then
trains the rest exactly as one built over the trainable parameters only."""

from collections import OrderedDict

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, nn, optim


def transfer_model(conv=False):
    """A body (with BatchNorm) trained on 'source' data, and a new head (with its own BatchNorm)."""
    rng = np.random.default_rng(7)
    if conv:
        body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten())
        features, source = 4 * 6 * 6, rng.normal(loc=1.5, scale=2.0, size=(32, 1, 6, 6))
    else:
        body = nn.Sequential(nn.Linear(6, 16, rng=0), nn.BatchNorm1d(16), nn.ReLU())
        features, source = 16, rng.normal(loc=1.5, scale=2.0, size=(32, 6))
    body.train()
    for batch in np.split(source.astype(np.float32), 4):  # the source data's running statistics
        body(batch)
    head = nn.Sequential(nn.Linear(features, 8, rng=1), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3, rng=2))
    return nn.Sequential(OrderedDict([("body", body), ("head", head)]))


def target_data(conv=False, n=48):
    rng = np.random.default_rng(3)
    X = rng.normal(loc=-1.0, scale=0.5, size=(n, 1, 6, 6) if conv else (n, 6)).astype(np.float32)
    return X, rng.integers(0, 3, size=n)


OPTIMIZERS = {
    "sgd_momentum_decay": lambda params: optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=0.1),
    "adam_decay": lambda params: optim.Adam(params, lr=0.01, weight_decay=0.1),
    "adamw": lambda params: optim.AdamW(params, lr=0.01, weight_decay=0.1),
}


def trained(make_optimizer, conv=False, all_parameters=True, l2=0.01, epochs=3):
    model = transfer_model(conv)
    model.body.freeze()
    params = model.parameters() if all_parameters else [p for p in model.parameters() if p.requires_grad]
    X, y = target_data(conv)
    before = model.state_dict()
    optimizer = make_optimizer(params)
    gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optimizer, epochs=epochs,
           batch_size=16, seed=0, verbose=0, l2=l2)
    return model, before, optimizer


def assert_body_untouched(model, before):
    for key, array in model.body.state_dict().items():  # weights and running statistics, every bit
        assert array.tobytes() == before["body." + key].tobytes(), key
    assert all(p.grad is None and not p.requires_grad for p in model.body.parameters())
    assert not model.body[1].training and model.head[1].training  # fit left the model in train mode


def assert_head_trained(model, before):
    state = model.head.state_dict()
    for key in ("0.weight", "1.weight", "1.running_mean", "1.running_var", "3.weight"):
        assert not np.array_equal(state[key], before["head." + key]), key
    assert int(state["1.num_batches_tracked"]) == 9  # 3 epochs of 3 batches


@pytest.mark.parametrize("conv", [False, True], ids=["batchnorm1d", "batchnorm2d"])
def test_fit_leaves_a_frozen_body_bit_identical_optimizer_over_the_trainable_parameters(conv):
    model, before, _ = trained(OPTIMIZERS["sgd_momentum_decay"], conv, all_parameters=False)
    assert_body_untouched(model, before)
    assert_head_trained(model, before)


def test_fit_with_l2_penalizes_only_the_trainable_weights():
    model = transfer_model()
    model.body.freeze()
    X, y = target_data()
    seen = []

    class BatchLosses(gn.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(logs["loss"])

    model.train()
    expected = (losses.cross_entropy(model(X), y).item()
                + 0.5 * sum(float(np.square(model.head[i].weight.data.astype(np.float64)).sum()) for i in (0, 3)))
    model = transfer_model()  # the forward above moved the head's running statistics
    model.body.freeze()
    gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optim.SGD(model.head.parameters(), lr=0.1), epochs=1,
           batch_size=None, shuffle=False, verbose=0, l2=0.5, callbacks=[BatchLosses()])
    body_penalty = 0.5 * float(np.square(model.body[0].weight.data).sum())
    assert body_penalty > 1.0  # large enough that counting it would show
    np.testing.assert_allclose(seen[0], expected, rtol=1e-5)


def test_unfreeze_then_fit_trains_the_body_and_its_batchnorm_again():
    model, before, _ = trained(OPTIMIZERS["adamw"], all_parameters=False, epochs=1)
    model.body.unfreeze()
    X, y = target_data()
    gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optim.AdamW(model.parameters(), lr=0.01), epochs=1,
           batch_size=16, seed=0, verbose=0)
    state = model.body.state_dict()
    for key in ("0.weight", "1.weight", "1.running_mean", "1.running_var"):
        assert not np.array_equal(state[key], before["body." + key]), key
    assert model.body[1].training


# ---- the optimizer built over ALL the model's parameters, frozen ones included (needs the lead's
# optimizer change: before it, an optimizer refuses a parameter with requires_grad=False)

@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("conv", [False, True], ids=["batchnorm1d", "batchnorm2d"])
def test_fit_with_an_optimizer_over_all_parameters_leaves_the_frozen_body_bit_identical(name, conv):
    model, before, optimizer = trained(OPTIMIZERS[name], conv, all_parameters=True)
    assert_body_untouched(model, before)
    assert_head_trained(model, before)
    assert sorted(optimizer.state) == list(range(4, 10))  # no state for the body's 4 parameters
    # holding the frozen parameters changes nothing for the others: the same run as without them
    reference, _, _ = trained(OPTIMIZERS[name], conv, all_parameters=False)
    for key, array in reference.state_dict().items():
        assert array.tobytes() == model.state_dict()[key].tobytes(), key


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_step_skips_a_frozen_parameter_even_with_a_stale_gradient(name):
    model = transfer_model()
    optimizer = OPTIMIZERS[name](model.parameters())
    X, y = target_data()
    losses.cross_entropy(model(X), y).backward()
    stale = {id(p): p.grad.copy() for p in model.body.parameters()}
    for p in model.body.parameters():  # frozen by hand, not by freeze(): the gradients stay
        p.requires_grad = False
    before = model.body.state_dict()
    optimizer.step()
    for key, array in model.body.state_dict().items():
        assert array.tobytes() == before[key].tobytes(), key
    assert all(np.array_equal(p.grad, stale[id(p)]) for p in model.body.parameters())
