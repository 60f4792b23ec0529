"""The lecture's report: one self-contained HTML page (styles inline, figures as base64 PNG data
URLs, no script, nothing fetched), which opens from disk in any browser."""

from __future__ import annotations

import base64
from html import escape

from ._lecture_core import Outcome, Topic

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 62rem; margin: 0 auto;
       padding: 1.5rem; color: #1f2328; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { margin: 0.2rem 0 0.6rem; }
.meta, .source { color: #57606a; font-size: 0.9rem; }
nav ol { columns: 2; font-size: 0.92rem; } nav li { margin: 0.1rem 0; }
section.topic { border-top: 1px solid #d0d7de; padding: 1rem 0 1.5rem; }
.section { text-transform: uppercase; letter-spacing: 0.05em; color: #57606a; font-size: 0.8rem; margin: 0; }
.claim { border-left: 4px solid #8250df; background: #f6f8fa; padding: 0.6rem 0.9rem; margin: 0.5rem 0; }
.badge { display: inline-block; border-radius: 1rem; padding: 0.05rem 0.6rem; font-size: 0.8rem; color: white; }
.held { background: #1a7f37; } .not-held { background: #cf222e; } .not-run { background: #6e7781; }
.error { background: #9a6700; }
ul.numbers li { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.88rem; }
figure { display: inline-block; margin: 0.5rem 1rem 0.5rem 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { font-size: 0.85rem; color: #57606a; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
.summary { font-size: 1.05rem; }
"""

VERDICTS = {True: ("held", "claim held"), False: ("not-held", "claim did not hold"), None: ("not-run", "not run")}


def verdict(outcome: Outcome) -> tuple[str, str]:
    """(CSS class, words) for a topic's outcome."""
    if outcome.note.startswith("error"):
        return "error", "error"
    return VERDICTS[outcome.held]


def image(caption: str, data: bytes) -> str:
    """A figure with its PNG inline (a data URL)."""
    encoded = base64.b64encode(data).decode("ascii")
    return (f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _topic(number: int, topic: Topic, outcome: Outcome, seconds: float) -> str:
    css, words = verdict(outcome)
    parts = [f'<section class="topic" id="{escape(topic.key)}">',
             f'<p class="section">{escape(topic.section)}</p>',
             f'<h2>{number}. {escape(topic.title)} <span class="badge {css}">{escape(words)}</span></h2>',
             f'<p class="claim" data-topic="{escape(topic.key)}"><strong>The course:</strong> '
             f"{escape(topic.claim)}</p>"]
    if outcome.note:
        parts.append(f'<p class="note">{escape(outcome.note)}</p>')
    if outcome.numbers:
        parts.append("<h3>Measured</h3>")
        parts.append('<ul class="numbers">' + "".join(f"<li>{escape(line)}</li>" for line in outcome.numbers) + "</ul>")
    parts.extend(image(caption, data) for caption, data in outcome.figures)
    parts.append(f'<p class="source">Code: {escape(topic.source)} &middot; {seconds:.1f} s</p>')
    if outcome.printed.strip():
        parts.append(f"<details><summary>What it printed</summary><pre>{escape(outcome.printed.strip())}</pre>"
                     "</details>")
    parts.append("</section>")
    return "\n".join(parts)


def render(rows: list[tuple[Topic, Outcome, float]], *, version: str, fast: bool, seed: int, seconds: float,
           when: str) -> str:
    """The whole report: a header with the tally and the contents, then one section per topic."""
    ran = [outcome for _, outcome, _ in rows if outcome.held is not None]
    held = sum(1 for outcome in ran if outcome.held)
    setting = "the fast setting (--fast)" if fast else "the full setting"
    contents = "".join(
        f'<li><a href="#{escape(topic.key)}">{escape(topic.title)}</a> '
        f'<span class="badge {verdict(outcome)[0]}">{escape(verdict(outcome)[1])}</span></li>'
        for topic, outcome, _ in rows)
    head = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>glassnet lecture: the course, measured</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n")
    header = (f"<header>\n<h1>glassnet lecture: the course, measured</h1>\n"
              f'<p class="meta">glassnet {escape(version)} &middot; {setting} &middot; seed {seed} &middot; '
              f"{escape(when)} &middot; {seconds:.0f} s</p>\n"
              f'<p class="summary">{held} of {len(ran)} claims held; {len(rows) - len(ran)} topics not run. Each topic '
              "below gives the course's claim, the numbers measured by running glassnet, whether the claim held, and "
              "the figures.</p>\n"
              f"<nav><ol>{contents}</ol></nav>\n</header>\n<main>\n")
    sections = "\n".join(_topic(number, topic, outcome, spent) for number, (topic, outcome, spent)
                         in enumerate(rows, start=1))
    return head + header + sections + "\n</main>\n</body>\n</html>\n"
