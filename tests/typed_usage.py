"""User code that type checkers must accept: the public API used as DESIGN.md and the README show it.

tests/test_typing.py runs mypy on this file with settings a careful user would choose, and runs it,
so its hints and its behaviour agree. Not a test module (pytest does not collect it: no ``test_``).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import functional as F
from glassnet import losses, nn, optim
from glassnet.distributions import Categorical, Normal, kl_divergence
from glassnet.interop import load_torch, save_torch, torch_state_dict
from glassnet.sklearn import MLPClassifier


def tensors() -> float:
    x = gn.Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)
    w = gn.Parameter(np.ones((2, 3)))
    z: gn.Tensor = (x @ w + 1.0).relu() * 2.0 - x.sum(axis=1, keepdims=True)
    loss: gn.Tensor = (z ** 2).mean() + F.sigmoid(z).sum() / 10.0
    loss.backward()
    grad: np.ndarray | None = w.grad
    assert grad is not None and grad.shape == (2, 3)
    with gn.no_grad():
        y = x.exp().log().clip(-1.0, 1.0).T
    return float(y.numpy().sum()) + loss.item()


def network(seed: int = 0) -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, 8, rng=seed), nn.ReLU(),
        nn.Linear(8, 8, rng=seed + 1), nn.LeakyReLU(alpha=0.1), nn.Dropout(0.1, rng=seed),
        nn.Linear(8, 2, rng=seed + 2),
    )


def training(X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    model = network()
    optimizer: optim.Optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = gn.fit(model, X, y, loss=losses.cross_entropy, optimizer=optimizer, epochs=2,
                     batch_size=16, validation_split=0.25, callbacks=[gn.EarlyStopping(patience=3)],
                     seed=0, verbose=0)
    losses_per_epoch: list[float] = history.history["loss"]
    assert len(losses_per_epoch) == 2
    scores: dict[str, float] = gn.evaluate(model, X, y, loss=losses.cross_entropy)
    logits: np.ndarray = gn.predict(model, X)
    assert logits.shape == (len(X), 2)
    adam = optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.99))
    adam.zero_grad()
    losses.mse(model(gn.Tensor(X.astype(np.float32))), np.zeros((len(X), 2))).backward()
    adam.step()
    return {key: float(value) for key, value in scores.items()}


def generative(seed: int = 0) -> float:
    """A convolutional VAE step as DESIGN.md names its parts: rsample, log_prob, kl_divergence."""
    encoder = nn.Sequential(nn.Conv1d(1, 4, 3, stride=2, padding=1, rng=seed), nn.ReLU(), nn.Flatten(),
                            nn.Linear(16, 4, rng=seed))
    decoder = nn.Sequential(nn.Linear(2, 16, rng=seed), nn.Unflatten(1, (4, 4)),
                            nn.ConvTranspose1d(4, 3, 4, stride=2, padding=1, rng=seed),
                            nn.Upsample(scale_factor=1, mode="nearest"))
    x = gn.Tensor(np.zeros((5, 1, 8), dtype=np.float32))
    codes = encoder(x)
    q = Normal(codes[:, :2], (0.5 * codes[:, 2:]).exp())
    z: gn.Tensor = q.rsample(rng=seed)
    p_x = Categorical(logits=decoder(z).transpose(0, 2, 1))        # (5, 8, 3): 3 values per position
    elbo = p_x.log_prob(np.ones((5, 8))).sum(axis=1) - kl_divergence(q, Normal(0.0, 1.0)).sum(axis=1)
    optimizer = optim.Adamax([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
    optimizer.zero_grad()
    (-elbo.mean()).backward()
    optimizer.step()
    return float(elbo.mean().item())


def reuse(X: np.ndarray, y: np.ndarray) -> list[float]:
    """Transfer as DESIGN.md names it: freeze, a new head, parameter groups, strict=False."""
    model = nn.Sequential(nn.Linear(2, 8, rng=0), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2, rng=1))
    body: nn.Module = model[:3].freeze()
    model[-1] = nn.Linear(8, 2, rng=2)
    missing, unexpected = nn.Sequential(nn.Linear(2, 8)).load_state_dict(model.state_dict(), strict=False)
    assert missing == [] and "3.weight" in unexpected
    body.unfreeze()
    optimizer = optim.SGD([{"params": body.parameters(), "lr": 1e-4}, {"params": model[-1].parameters()}],
                          lr=1e-2, momentum=0.9)
    optimizer.add_param_group({"params": [gn.Parameter(np.zeros(2))], "lr": 1e-3})
    gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=1, verbose=0)
    return [float(group["lr"]) for group in optimizer.param_groups]


def files(model: nn.Module) -> nn.Module:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.safetensors"
        gn.save(model, path)
        return gn.load(path)


def pytorch_weights(model: nn.Module) -> int:
    state: dict[str, np.ndarray] = torch_state_dict(model)   # PyTorch's names and layouts
    twin = load_torch(network(seed=5), state)
    assert all((twin.state_dict()[name] == array).all() for name, array in model.state_dict().items())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "torch.safetensors"
        save_torch(twin, path)
        load_torch(network(seed=6), path, strict=True)
    return len(state)


def estimator(X: np.ndarray, y: np.ndarray) -> float:
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    clf.fit(X, y)
    coefs: list[np.ndarray] = clf.coefs_
    assert coefs[0].shape == (2, 8)
    return float(clf.score(X, y))


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    tensors()
    training(X, y)
    generative()
    reuse(X, y)
    model = files(network())
    assert isinstance(model, nn.Sequential)
    assert pytorch_weights(model) == 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # 5 iterations do not converge
        estimator(X, y)


if __name__ == "__main__":
    main()
