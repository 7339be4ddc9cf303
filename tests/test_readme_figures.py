"""Every figure the README states comes from benchmarks/RESULTS.md (issue 9).

A figure is a number with a unit (µs, ms, s, x, B/point, MB, points/s) in the README's
introduction or its Performance section; each must appear in RESULTS.md as written, so a
re-run that changes a figure fails here until the README says the new one.
"""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURE = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?(?:µs|ms|s\b|x\b|B/point|"
                    r"bytes a point|MB|points/s|/s\b)")


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as fh:
        return fh.read()


def unmeasured(readme, results):
    """The README's figures that RESULTS.md does not state."""
    intro = readme.split("## Quick start")[0]
    performance = readme.split("## Performance", 1)[1].split("\n## ", 1)[0]
    figures = FIGURE.findall(intro + performance)
    assert len(figures) >= 15, figures      # the section states its figures
    return [f for f in figures
            if not re.search(rf"(?<![\d.,]){re.escape(f)}(?!\d|,\d|\.\d)", results)]


def test_readme_figures_are_the_measured_ones():
    assert unmeasured(_read("README.md"), _read("benchmarks", "RESULTS.md")) == []


def test_an_estimate_in_the_readme_is_caught():
    readme = _read("README.md")
    changed = re.sub(r"costs [\d.]+ µs", "costs 0.917 µs", readme, count=1)
    assert changed != readme
    assert unmeasured(changed, _read("benchmarks", "RESULTS.md")) == ["0.917"]
