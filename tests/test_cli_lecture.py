"""``glassnet lecture``: the course's examples in the course's order, one self-contained HTML report.

The command runs here on a reduced set of topics (``--topics``), at the fast setting: a few
quick topics with figures, one without a figure (backpropagation) and one that only the full run
holds (gan_modes). The report must parse, hold every figure inline as a PNG data URL, fetch
nothing, and state each topic's claim, its numbers and whether the claim held.
"""

import base64
import dataclasses
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from glassnet.cli import _lecture, _lecture_basics, main
from glassnet.cli._lecture_core import Outcome, Topic
from glassnet.cli._lecture_html import render

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REDUCED = ["perceptron", "activations", "iris", "losses", "backpropagation", "gan_modes"]
FIGURES = {"perceptron": 1, "activations": 1, "iris": 2, "losses": 1, "backpropagation": 0, "gan_modes": 0}
VOID = {"meta", "img", "br", "hr", "link", "input"}
# The course notes' headings, in their order: the lecture's topics follow it.
COURSE_SECTIONS = [
    "Limitations of the Perceptron", "Non-linear activation functions", "Multi layer network",
    "Multi-class loss function / Iris Dataset", "Weight Initialization Techniques", "Loss Functions",
    "Backpropagation", "Gradient Descent", "Optimization Algorithms", "Challenges in Training Deep Networks",
    "Batch Normalization", "Regularization Techniques", "Practical Considerations", "Network Architectures",
    "Advanced Topics in Deep Learning",
]


class Report(HTMLParser):
    """The report's structure: tags balanced, sections in order, images, claims, badges."""

    def __init__(self):
        super().__init__()
        self.open, self.problems, self.sections, self.images, self.links = [], [], [], {}, []
        self.claims, self.badges, self.items, self.scripts = {}, {}, {}, 0
        self._claim = self._badge = self._item = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in VOID:
            self.open.append(tag)
        if tag == "section":
            self.sections.append(attrs["id"])
            self.images[attrs["id"]], self.items[attrs["id"]] = [], []
        if tag == "img":
            self.images[self.sections[-1]].append(attrs["src"])
        if tag in ("script", "link", "iframe"):
            self.scripts += 1
        self.links += [value for name, value in attrs.items()    # a URL that would be fetched
                       if name in ("href", "src") and ("://" in value or value.startswith("//"))]
        if tag == "p" and attrs.get("class") == "claim":
            self._claim = attrs["data-topic"]
            self.claims[self._claim] = ""
        if tag == "span" and "badge" in attrs.get("class", "") and self.sections:
            self._badge = self.sections[-1]
            self.badges[self._badge] = ""
        if tag == "li" and self.sections and self.open[-2:] == ["ul", "li"]:
            self._item = self.sections[-1]
            self.items[self._item].append("")

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()
        if tag == "p":
            self._claim = None
        if tag == "span":
            self._badge = None
        if tag == "li":
            self._item = None

    def handle_data(self, data):
        if self._claim:
            self.claims[self._claim] += data
        if self._badge:
            self.badges[self._badge] += data
        if self._item:
            self.items[self._item][-1] += data


def parse(html: str) -> Report:
    report = Report()
    report.feed(html)
    report.close()
    return report


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lecture") / "report"
    run = subprocess.run([sys.executable, "-m", "glassnet", "lecture", "--fast", "--topics", ",".join(REDUCED),
                          "--out", str(out)], capture_output=True, text=True, timeout=600)
    return run, out


def test_the_report_parses_and_embeds_every_figure(fast_run):
    run, out = fast_run
    assert run.returncode == 0, run.stderr
    assert sorted(path.name for path in out.iterdir()) == ["index.html"]   # one file: nothing beside it
    report = parse((out / "index.html").read_text(encoding="utf-8"))
    assert report.problems == [] and report.open == []
    assert report.sections == REDUCED                       # the course's order
    assert report.scripts == 0 and report.links == []       # nothing fetched, nothing run
    for key, count in FIGURES.items():
        assert len(report.images[key]) == count, key
        for source in report.images[key]:
            prefix = "data:image/png;base64,"
            assert source.startswith(prefix)
            data = base64.b64decode(source[len(prefix):], validate=True)
            assert data[:8] == PNG_SIGNATURE and len(data) > 10_000   # a drawn figure


def test_every_claim_and_its_verdict_are_in_the_report(fast_run):
    run, out = fast_run
    report = parse((out / "index.html").read_text(encoding="utf-8"))
    topics = {topic.key: topic for topic in _lecture.all_topics()}
    for key in REDUCED:
        assert report.claims[key] == "The course: " + topics[key].claim
    assert {key: report.badges[key] for key in REDUCED} == {
        **{key: "claim held" for key in REDUCED[:-1]}, "gan_modes": "not run"}
    # the numbers behind the verdicts
    assert any(line.startswith("MLP 2-4-1 on XOR: accuracy 1.00") for line in report.items["perceptron"])
    assert any("largest difference" in line for line in report.items["losses"])
    assert report.items["gan_modes"] == []
    # the progress lines and the tally on stdout
    for number, key in enumerate(REDUCED, start=1):
        assert f"{number}/{len(REDUCED)} {topics[key].title}: " in run.stdout
    assert "5 of 5 claims held, 1 topics not run" in run.stdout


def test_the_topics_follow_the_course_notes_and_name_existing_examples():
    topics = _lecture.all_topics()
    keys = [topic.key for topic in topics]
    assert len(keys) == len(set(keys)) and keys[:3] == ["perceptron", "activations", "circles"]
    positions = [COURSE_SECTIONS.index(topic.section) for topic in topics]
    assert positions == sorted(positions)
    for topic in topics:
        for part in topic.source.split(", "):
            if part.startswith("examples/"):
                assert (ROOT / part.split()[0]).is_file(), topic.source
    assert _lecture.topic_keys() == keys


def test_hostile_options_are_refused_before_any_work(tmp_path, capsys):
    file = tmp_path / "a-file"
    file.write_text("x")
    (tmp_path / "taken" / "index.html").mkdir(parents=True)
    cases = {("--topics", "nonsense"): "unknown topic 'nonsense'",
             ("--topics", " , "): "--topics needs at least one topic key",
             ("--out", str(file)): "is a file, not a folder",
             ("--out", str(tmp_path / "taken")): "index.html is a folder",
             ("--seed", "x"): "invalid int value",
             ("--seed", "-1"): "--seed must be a whole number from 0 to 4294967295, got -1",
             ("--seed", str(2**32)): "got 4294967296"}
    for arguments, message in cases.items():
        status = main(["lecture", "--topics", "losses", *arguments])
        line = capsys.readouterr().err.strip()
        assert status == 2 and message in line and "\n" not in line, (arguments, line)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file", "taken"]


def test_a_failing_topic_is_reported_and_the_others_still_run(tmp_path, monkeypatch, capsys):
    def broken(context):
        raise RuntimeError("boom")

    topics = [dataclasses.replace(topic, run=broken) if topic.key == "backpropagation" else topic
              for topic in _lecture_basics.TOPICS]
    monkeypatch.setattr(_lecture_basics, "TOPICS", topics)
    status = main(["lecture", "--topics", "losses,backpropagation", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert status == 1
    assert "1 of 1 claims held, 1 failed" in printed
    report = parse((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert report.badges == {"losses": "claim held", "backpropagation": "error"}
    assert "error: RuntimeError: boom" in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_a_topic_missing_an_optional_package_is_not_run_and_says_what_to_install(tmp_path, monkeypatch, capsys):
    def needs_gymnasium(context):
        raise ModuleNotFoundError("No module named 'gymnasium'", name="gymnasium")

    topics = [dataclasses.replace(topic, run=needs_gymnasium) if topic.key == "backpropagation" else topic
              for topic in _lecture_basics.TOPICS]
    monkeypatch.setattr(_lecture_basics, "TOPICS", topics)
    status = main(["lecture", "--topics", "backpropagation", "--out", str(tmp_path)])
    assert status == 0 and "0 of 0 claims held, 1 topics not run" in capsys.readouterr().out
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert parse(html).badges == {"backpropagation": "not run"}
    assert "it needs the package &#x27;gymnasium&#x27; (pip install &#x27;glassnet[rl]&#x27;" in html


def test_text_from_the_examples_is_escaped():
    topic = Topic("odd", "Loss Functions", "a <b> & c", 'claim with "quotes" & <tags>', "nowhere", lambda c: None)
    outcome = Outcome(["x < y & z"], True, [], printed="<script>alert(1)</script>")
    html = render([(topic, outcome, 0.5)], version="0", fast=True, seed=0, seconds=1.0, when="now")
    report = parse(html)
    assert report.problems == [] and report.scripts == 0
    assert report.claims["odd"] == 'The course: claim with "quotes" & <tags>'
    assert report.items["odd"] == ["x < y & z"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_lecture_runs_from_a_non_editable_install(tmp_path):
    # a copy of what an sdist holds, built and installed into a plain folder: no source tree behind it
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("src", "examples"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    site = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                            "--quiet", "--target", str(site), str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    assert (site / "glassnet" / "_examples" / "perceptron_xor.py").is_file()
    shutil.rmtree(source)   # nothing to fall back on
    environment = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "glassnet", "lecture", "--fast", "--topics", "perceptron",
                          "--out", "report"], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env=environment)
    assert run.returncode == 0, run.stderr
    report = parse((tmp_path / "report" / "index.html").read_text(encoding="utf-8"))
    assert report.sections == ["perceptron"] and report.badges == {"perceptron": "claim held"}
    assert len(report.images["perceptron"]) == 1


def test_without_the_examples_the_lecture_says_how_to_get_them(tmp_path, monkeypatch, capsys):
    from glassnet.cli import _lecture_core

    monkeypatch.setattr(_lecture_core, "PACKAGE", tmp_path / "nowhere" / "glassnet")
    status = main(["lecture", "--out", str(tmp_path / "out")])
    line = capsys.readouterr().err.strip()
    assert status == 2 and "example scripts are not installed" in line and "pip install ." in line
    assert not (tmp_path / "out").exists()


def test_help_lists_the_topics():
    run = subprocess.run([sys.executable, "-m", "glassnet", "lecture", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "usage: glassnet lecture" in run.stdout
    for key in ("perceptron", "transformer", "rl_cartpole"):
        assert key in run.stdout
