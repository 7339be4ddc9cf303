"""The bucket rules of tests/vectors/buckets.json, checked against static/buckets.js
in real Chromium (the store is checked against the same file by
tests/test_bucket_vectors.py): folding points in live, coarsening, and reading the
server's answer all give the expected columns."""
import json
import pathlib

import pytest

pytestmark = pytest.mark.browser

VECTORS = json.loads((pathlib.Path(__file__).parent.parent / "vectors" / "buckets.json").read_text())["vectors"]

# Runs in the page: a module imported from the page's own origin (CSP allows it).
CHECK = """async (vectors) => {
  const { Buckets, levelFor } = await import('/static/buckets.js');
  const { parseBuckets } = await import('/static/api.js');
  const enc = v => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v);
  const columns = b => {
    const out = { x0: [], x1: [], s0: [], s1: [], count: [], nans: [], min: [], max: [],
                  first: [], last: [], mean: [], t0: [], t1: [] };
    for (let i = 0; i < b.length; i++) {
      out.x0.push(b.k[i] * b.width); out.x1.push((b.k[i] + 1) * b.width - 1);
      out.s0.push(b.s0[i]); out.s1.push(b.s1[i]); out.count.push(b.count[i]); out.nans.push(b.nans[i]);
      out.min.push(b.count[i] === b.nans[i] ? null : enc(b.min[i]));
      out.max.push(b.count[i] === b.nans[i] ? null : enc(b.max[i]));
      out.first.push(enc(b.first[i])); out.last.push(enc(b.last[i])); out.mean.push(enc(b.mean(i)));
      out.t0.push(b.t0[i]); out.t1.push(b.t1[i]);
    }
    return { level: b.level, total: b.total(), cols: out };
  };
  return vectors.map(v => {
    const pts = v.points.map(([s, x, t]) => [s, Number(x), t]);
    const steps = pts.map(p => p[0]);
    const x0 = v.query.x0 ?? Math.min(...steps), x1 = v.query.x1 ?? Math.max(...steps);
    const level = levelFor(x0, x1, v.query.buckets);
    const w = 2 ** level, lo = Math.floor(x0 / w) * w, hi = (Math.floor(x1 / w) + 1) * w - 1;
    const inRange = pts.filter(p => p[0] >= lo && p[0] <= hi);
    const live = new Buckets(level);
    for (const p of inRange) live.add(p[0], p[1], p[2]);
    const fine = new Buckets(0);
    fine.addPoints(inRange.map(p => p[0]), inRange.map(p => p[1]), inRange.map(p => p[2]));
    const read = Buckets.fromResponse(parseBuckets(JSON.parse(JSON.stringify(v.expected))));
    return { name: v.name, level, live: columns(live), coarsened: columns(fine.coarsen(level)),
             read: columns(read) };
  });
}"""


def same(a, b):
    if isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return a == b
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def test_buckets_js_follows_every_vector(page, server):
    page.page.goto(server.url + "/")
    page.poll("!!window.__pastalog")
    results = page.page.evaluate(CHECK, VECTORS)
    problems = []
    for vector, got in zip(VECTORS, results):
        want = vector["expected"]
        if got["level"] != want["level"]:
            problems.append(f"{vector['name']}: levelFor gives {got['level']}, want {want['level']}")
            continue
        for how in ("live", "coarsened", "read"):
            cols = got[how]["cols"]
            for name, expect in want["buckets"].items():
                have = cols[name]
                if len(have) != len(expect) or not all(same(a, b) for a, b in zip(have, expect)):
                    problems.append(f"{vector['name']} ({how}): {name} is {have}, want {expect}")
            if got[how]["total"] != sum(want["buckets"]["count"]):
                problems.append(f"{vector['name']} ({how}): total {got[how]['total']}")
    assert problems == [], "\n".join(problems)
    assert page.errors == []
