#!/usr/bin/env python3
"""Judges a conformance run against the documented exceptions.

  conformance_check.py REPORT.json EXCEPTIONS.txt

REPORT is the harness's `--report`; EXCEPTIONS lists every case allowed not to pass, one per line:
`VERDICT file::case  reason` (VERDICT is FAIL or SKIP; `#` starts a comment). The run is good when
every case passed except those listed with the verdict they got. A listed case that now passes is
reported (the list is then out of date) but does not fail the run; anything else that fails or is
skipped does. docs/conformance.md explains each exception.
"""
import json
import sys


def load_exceptions(path):
    allowed = {}
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or parts[0] not in ("FAIL", "SKIP") or "::" not in parts[1]:
            sys.exit(f"{path}:{n}: expected 'FAIL|SKIP file::case reason', got {line!r}")
        allowed[parts[1]] = (parts[0], parts[2])
    return allowed


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    report = json.load(open(sys.argv[1], encoding="utf-8"))
    allowed = load_exceptions(sys.argv[2])
    results = report["results"]
    unexpected, stale, excused = [], [], 0
    seen = set()
    for r in results:
        key = f"{r['file']}::{r['case']}"
        seen.add(key)
        if r["verdict"] == "PASS":
            if key in allowed:
                stale.append(key)
            continue
        want = allowed.get(key)
        if want and want[0] == r["verdict"]:
            excused += 1
            continue
        unexpected.append(f"{r['verdict']} {key} ({r.get('rule') or '-'}): {r.get('reason', '')[:200]}")
    missing = sorted(set(allowed) - seen)
    passed = sum(r["verdict"] == "PASS" for r in results)
    print(f"conformance check: {len(results)} cases, {passed} passed, {excused} documented exceptions, "
          f"{len(unexpected)} unexpected")
    for key in stale:
        print(f"  now passes (remove it from the exceptions): {key}")
    for key in missing:
        print(f"  listed but not in this run: {key}")
    for line in unexpected:
        print(f"  unexpected: {line}")
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
