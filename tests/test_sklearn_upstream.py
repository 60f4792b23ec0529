"""scikit-learn's own tests of its MLP and Perceptron, run against glassnet's estimators.

The test files are read from the INSTALLED scikit-learn when this module is collected (nothing
is vendored), their one import of the estimators is pointed at ``glassnet.sklearn``, and every
test function they define becomes a test of this module, named ``test_mlp__<name>`` or
``test_perceptron__<name>`` (pytest runs them with their own parametrizations and marks). Only
the tests below are left out, by name, each for the reason beside it: they reach into
scikit-learn's private internals, or need sparse input, which glassnet's estimators do not take.
"""

import ast
import importlib.util
import os
import types
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

# test name (with the parameter id where only some parametrizations go) -> why it is left out
DESELECTED = {
    "test_mlp": {
        "test_fit": "sets scikit-learn's private solver state by hand (_coef_grads, "
                    "_intercept_velocity, ...) and calls its private _fit",
        "test_gradient": "calls scikit-learn's private _loss_grad_lbfgs",
        "test_learning_rate_warmstart": "reads scikit-learn's private _optimizer.learning_rate",
        "test_adaptive_learning_rate": "reads scikit-learn's private _optimizer.learning_rate",
        "test_sparse_matrices[csr_matrix]": "sparse input",
        "test_sparse_matrices[csr_array]": "sparse input",
    },
    "test_perceptron": {
        "test_perceptron_accuracy[csr_matrix]": "sparse input",
        "test_perceptron_accuracy[csr_array]": "sparse input",
    },
}

# the upstream file, and the import whose names are taken from glassnet.sklearn instead
UPSTREAM = {
    "test_mlp": ("sklearn.neural_network.tests.test_mlp", "sklearn.neural_network",
                 {"MLPClassifier", "MLPRegressor"}),
    "test_perceptron": ("sklearn.linear_model.tests.test_perceptron", "sklearn.linear_model",
                        {"Perceptron"}),
}


@pytest.fixture(params=[int(os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", "42"))])
def global_random_seed(request):
    """scikit-learn's fixture: one seed, 42 unless SKLEARN_TESTS_GLOBAL_RANDOM_SEED says another."""
    return request.param


@pytest.fixture(autouse=True)
def one_blas_thread():
    """The matrices here are small: with several BLAS threads on busy cores, OpenBLAS's idle
    threads spin and make these tests several times slower (measured 9.7 s against 1.3 s for
    100 partial_fit calls)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def swap_estimator_imports(tree: ast.Module, module: str, names: set) -> ast.Module:
    """Point ``from <module> import <names>`` at glassnet.sklearn, on the same source line (so
    tracebacks show the installed file's lines); other names of that import stay scikit-learn's."""
    found = set()
    body = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == module:
            ours = [alias for alias in node.names if alias.name in names]
            theirs = [alias for alias in node.names if alias.name not in names]
            found.update(alias.name for alias in ours)
            if ours:
                body.append(ast.copy_location(ast.ImportFrom("glassnet.sklearn", ours, 0), node))
            if theirs:
                body.append(ast.copy_location(ast.ImportFrom(module, theirs, 0), node))
        else:
            body.append(node)
    if found != names:
        raise RuntimeError(f"the installed test file no longer imports {sorted(names - found)} "
                           f"from {module}; update tests/test_sklearn_upstream.py")
    tree.body = body
    return tree


def load_upstream(name: str) -> types.ModuleType:
    """The installed scikit-learn's test module ``name``, importing glassnet's estimators."""
    dotted, module, names = UPSTREAM[name]
    spec = importlib.util.find_spec(dotted)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the installed scikit-learn does not ship {dotted}")
    path = Path(spec.origin)
    tree = swap_estimator_imports(ast.parse(path.read_text(encoding="utf-8"), str(path)), module, names)
    upstream = types.ModuleType(f"glassnet_upstream_{name}")
    upstream.__file__ = str(path)
    exec(compile(tree, str(path), "exec"), upstream.__dict__)  # noqa: S102 - scikit-learn's own file
    return upstream


def parameter_id(value) -> str | None:
    """The id pytest gives a parameter that has a name (a class, a function)."""
    return getattr(value, "__name__", None)


def without_deselected(function, deselected: dict):
    """The test function with the deselected parametrizations (``name[id]``) removed from its
    one-argument parametrize marks; None when the whole test is deselected."""
    if function.__name__ in deselected:
        return None
    marks = []
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize" and len(mark.args) == 2 and "," not in mark.args[0]:
            values = [value for value in mark.args[1]
                      if f"{function.__name__}[{parameter_id(value)}]" not in deselected]
            if not values:   # every parametrization deselected: the whole test goes
                return None
            mark = pytest.mark.parametrize(mark.args[0], values, **mark.kwargs).mark
        marks.append(mark)
    function.pytestmark = marks
    return function


def collect_upstream(namespace: dict) -> dict:
    """Put every upstream test function not deselected into ``namespace``; returns the counts."""
    counts = {}
    for name in UPSTREAM:
        upstream = load_upstream(name)
        tests = [value for key, value in vars(upstream).items()
                 if key.startswith("test_") and callable(value)]
        for function in tests:
            kept = without_deselected(function, DESELECTED[name])
            if kept is not None:
                namespace[f"{name}__{function.__name__}"] = kept
        counts[name] = len(tests)
    return counts


UPSTREAM_FUNCTIONS = collect_upstream(globals())


def test_every_deselected_name_exists_upstream():
    """A deselection must name a test that the installed file has, so none goes stale unseen."""
    for name, deselected in DESELECTED.items():
        upstream = load_upstream(name)
        for test in deselected:
            function_name, _, parameter = test.partition("[")
            assert callable(getattr(upstream, function_name, None)), test
            if parameter:
                ids = {parameter_id(value) for mark in getattr(upstream, function_name).pytestmark
                       if mark.name == "parametrize" for value in mark.args[1]}
                assert parameter.rstrip("]") in ids, test
    assert UPSTREAM_FUNCTIONS["test_mlp"] >= 40 and UPSTREAM_FUNCTIONS["test_perceptron"] >= 4
