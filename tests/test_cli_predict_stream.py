"""glassnet predict streams (issue 10, item 12, the command line's half): the input is read, predicted
and written in chunks, so memory stays bounded whatever the number of rows, and the output is the
one an all-at-once prediction gives."""

import argparse
import csv
import io
import tracemalloc

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli
from glassnet.data.csv_file import read_csv_chunks, read_csv_features


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2)).round(3)
    labels = np.where(X[:, 0] > 0.3, "hi", np.where(X[:, 1] > 0, "mid", "lo"))
    with open(folder / "train.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["a", "b", "level"], *[[*x, k] for x, k in zip(X, labels)]])
    assert cli.main(["train", "--data", str(folder / "train.csv"), "--target", "level", "--epochs", "5",
                     "--quiet", "--out", str(folder / "run")]) == 0
    return folder / "run" / "model.safetensors"


def big_csv(path, n_rows, seed=0):
    X = np.random.default_rng(seed).normal(size=(n_rows, 2)).round(4)   # written and read back exactly
    with open(path, "w") as handle:
        handle.write("id,b,a\n")       # the model's columns in another order, and an extra one
        np.savetxt(handle, np.column_stack([np.arange(n_rows), X[:, 1], X[:, 0]]), fmt="%.0f,%.4f,%.4f")
    return X


def test_predict_memory_is_bounded_and_the_output_is_the_unchunked_one(model, tmp_path, capsys):
    X = big_csv(tmp_path / "big.csv", 200_000)
    (tmp_path / "warm.csv").write_text("a,b\n1,2\n")
    assert cli.main(["predict", str(model), "--input", str(tmp_path / "warm.csv")]) == 0  # imports done
    tracemalloc.start()
    try:
        code = cli.main(["predict", str(model), "--input", str(tmp_path / "big.csv"),
                         "--output", str(tmp_path / "p.csv")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, capsys.readouterr().err
    assert "200000 predictions written to" in capsys.readouterr().out
    # 200,000 rows at once hold about 100 MiB of parsed cells and output text; chunks of 4,096 a few
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    with open(tmp_path / "p.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["prediction", "p_hi", "p_lo", "p_mid"] and len(rows) == 200_001
    probabilities = np.array([[float(p) for p in row[1:]] for row in rows[1:]])
    expected = gn.functional.softmax(gn.Tensor(gn.predict(gn.load(model), X))).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1.5e-6)
    names = np.array(["hi", "lo", "mid"])
    agree = np.array([row[0] for row in rows[1:]]) == names[expected.argmax(axis=1)]
    assert agree.mean() > 0.9999   # a tie within float rounding may go either way


def test_chunk_size_does_not_change_the_output(model, tmp_path):
    big_csv(tmp_path / "some.csv", 1_000, seed=3)
    texts = []
    for chunk_rows in (1, 7, 4096):
        stream = io.StringIO()
        args = argparse.Namespace(model=str(model), input=str(tmp_path / "some.csv"), output=None)
        assert cli.predict(args, stream=stream, chunk_rows=chunk_rows) == 1_000   # rows predicted
        texts.append(stream.getvalue())
    rows = [list(csv.reader(io.StringIO(text))) for text in texts]
    assert rows[0][0] == rows[1][0] == rows[2][0] and len(rows[0]) == 1_001
    values = [np.array([[float(v) for v in row[1:]] for row in r[1:]]) for r in rows]
    np.testing.assert_allclose(values[0], values[2], atol=1e-6)
    np.testing.assert_allclose(values[1], values[2], atol=1e-6)


def test_regression_predictions_stream_too(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2)).round(3)
    with open(tmp_path / "train.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["a", "b", "y"], *[[*x, round(2 * x[0] - x[1], 3)] for x in X]])
    assert cli.main(["train", "--data", str(tmp_path / "train.csv"), "--target", "y", "--epochs", "5",
                     "--quiet", "--out", str(tmp_path / "run")]) == 0
    Z = big_csv(tmp_path / "new.csv", 10_000)
    stream = io.StringIO()
    args = argparse.Namespace(model=str(tmp_path / "run" / "model.safetensors"), input=str(tmp_path / "new.csv"),
                              output=None)
    assert cli.predict(args, stream=stream, chunk_rows=999) == 10_000
    expected = gn.predict(gn.load(tmp_path / "run" / "model.safetensors"), Z).reshape(-1)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "prediction" and len(lines) == 10_001
    np.testing.assert_allclose([float(v) for v in lines[1:]], expected, rtol=1e-5, atol=1e-5)


def test_read_csv_chunks(tmp_path):
    (tmp_path / "t.csv").write_text("id,b,a,label\nr1,1.5,2,x\n\nr2,3,4e1,y\nr3,5,6,z\n")
    chunks = list(read_csv_chunks(tmp_path / "t.csv", ["a", "b"], target="label", chunk_rows=2))
    assert [len(chunk.X) for chunk in chunks] == [2, 1]
    np.testing.assert_array_equal(np.concatenate([c.X for c in chunks]), [[2, 1.5], [40, 3], [6, 5]])
    assert [c.labels for c in chunks] == [["x", "y"], ["z"]]
    assert [c.lines for c in chunks] == [[2, 4], [5]]
    np.testing.assert_array_equal(read_csv_features(tmp_path / "t.csv", ["a", "b"]),
                                  np.concatenate([c.X for c in chunks]))
    assert next(read_csv_chunks(tmp_path / "t.csv", ["a"])).labels is None
    with pytest.raises(ValueError, match="no columns named 'c', 'd'; available columns: 'id', 'b', 'a', 'label'"):
        read_csv_chunks(tmp_path / "t.csv", ["a", "c", "d"])          # at once, before the first chunk
    with pytest.raises(ValueError, match="chunk_rows must be a positive int, got 0"):
        read_csv_chunks(tmp_path / "t.csv", ["a"], chunk_rows=0)
    with pytest.raises(ValueError, match="missing must be 'error' or 'nan'"):
        read_csv_chunks(tmp_path / "t.csv", ["a"], missing="zero")


def test_missing_cells_become_nan_only_when_asked(tmp_path):
    (tmp_path / "gaps.csv").write_text("a,b\n1,\n,2\nnan,3\n")
    with pytest.raises(ValueError, match="line 2, column 'b': empty cell"):
        read_csv_features(tmp_path / "gaps.csv", ["a", "b"])
    X = read_csv_features(tmp_path / "gaps.csv", ["a", "b"], missing="nan")
    np.testing.assert_array_equal(X, [[1, np.nan], [np.nan, 2], [np.nan, 3]])
    (tmp_path / "inf.csv").write_text("a\ninf\n")
    with pytest.raises(ValueError, match="infinite value 'inf'"):
        read_csv_features(tmp_path / "inf.csv", ["a"], missing="nan")
