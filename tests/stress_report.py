"""Print the bounds figures that ``tests/test_bounds_hostile.py`` recorded.

Usage: ``python tests/stress_report.py [report.json]`` (default ``.cache/stress/bounds.json``
or ``$PASTALOG_STRESS_REPORT``); ``make stress`` runs it after the stress tests. Exit
status 1 when a figure misses its goal (server RSS under 300 MB, ``/healthz`` p99 under
100 ms) or nothing was recorded.

Examples
--------
>>> print(table({"item 6": {"what": "huge frames", "seconds": 60, "stress": True,
...     "peak_rss_mb": 47.0, "healthz_p99_ms": 9.5, "healthz_max_ms": 20.1,
...     "healthz_probes": 900, "healthz_failed": 0, "server_cpu_pct": 11,
...     "machine_load": 2.5, "cpus": 2}}))
| item | hostile client | s | peak RSS MB | /healthz p99 ms | max ms | probes | server CPU % | machine load | goal |
|---|---|---|---|---|---|---|---|---|---|
| item 6 | huge frames | 60 | 47.0 | 9.5 | 20.1 | 900 | 11 | 2.5 / 2 CPUs | met |
"""
import json
import os
import sys

__all__ = ["main", "table"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RSS_GOAL_MB = 300
P99_GOAL_MS = 100


def met(row):
    """Whether one recorded row meets the goal figures."""
    if row.get("baseline"):
        return True  # a comparison, not a hostile client
    return (row["peak_rss_mb"] < RSS_GOAL_MB and row["healthz_p99_ms"] < P99_GOAL_MS
            and not row.get("healthz_failed"))


def table(report):
    """The report as a Markdown table, one row per hostile client."""
    lines = ["| item | hostile client | s | peak RSS MB | /healthz p99 ms | max ms | probes "
             "| server CPU % | machine load | goal |", "|---|---|---|---|---|---|---|---|---|---|"]
    for item in sorted(report):
        row = report[item]
        goal = "met" if met(row) else "MISSED"
        if row.get("baseline"):
            goal = "(no goal)"
        elif not row.get("stress"):
            goal += " (short run)"
        lines.append(f"| {item} | {row['what']} | {row['seconds']:g} | {row['peak_rss_mb']} "
                     f"| {row['healthz_p99_ms']} | {row['healthz_max_ms']} "
                     f"| {row['healthz_probes']} | {row.get('server_cpu_pct', '')} "
                     f"| {row.get('machine_load', '')} / {row.get('cpus', '')} CPUs | {goal} |")
    return "\n".join(lines)


def main(argv=None):
    """Print the table; 0 when every row meets its goal."""
    argv = sys.argv[1:] if argv is None else argv
    path = (argv[0] if argv else os.environ.get("PASTALOG_STRESS_REPORT")
            or os.path.join(ROOT, ".cache", "stress", "bounds.json"))
    try:
        with open(path) as fh:
            report = json.load(fh)
    except (OSError, ValueError) as exc:
        print(f"stress report: nothing recorded in {path} ({exc})", file=sys.stderr)
        return 1
    print(f"Server bounds under hostile clients (goal: RSS < {RSS_GOAL_MB} MB, /healthz p99 "
          f"< {P99_GOAL_MS} ms), from {path}. Machine load is the 1-minute load average "
          "(the highest seen during the run): /healthz latency includes waiting for a CPU.\n")
    print(table(report))
    return 0 if report and all(met(row) for row in report.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
