#!/usr/bin/env python3
"""What integrated mode costs a resident: the 1.2.0 OTP journey timed on one process, and on a
resident tier in `mosip` mode in front of a platform tier (two `resident serve` processes on this
machine, each on its own SQLite database).

For each set-up it asks for an OTP (`/req/otp`), reads it from the outbox of whoever sent it, and
uses it on `/req/auth-history` and on `/vid` (a Temporary VID, revoked again through the ID
Repository on the next round), N times, and prints the median and 95th percentile of each call in
milliseconds. Figures go in docs/performance.md.

The OTP flood guard and the throttling limits are lifted for the run (one resident asks for
4N OTPs in a minute or two).

Usage: tools/two_tier_timing.py [path/to/resident] [N]   (default: the debug binary, 30)
"""

import glob
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JANE = "5075291708"


def binary():
    if len(sys.argv) > 1:
        return sys.argv[1]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "debug", "resident")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(exe, data, *args, env=None):
    e = dict(os.environ, **(env or {}))
    e.pop("RESIDENT_CONFIG", None)
    out = subprocess.run([exe, "--data-dir", data, *args], env=e, capture_output=True, text=True, check=True)
    return out.stdout


def serve(exe, data, port, env=None):
    e = dict(os.environ, RESIDENT_LISTEN=f"127.0.0.1:{port}", RESIDENT_WORKER__POLL_MILLIS="50", RUST_LOG="warn",
             RESIDENT_RATE_LIMIT__ENABLED="false", RESIDENT_OTP__FLOODING_MAX="100000", **(env or {}))
    e.pop("RESIDENT_CONFIG", None)
    p = subprocess.Popen([exe, "--data-dir", data, "serve"], env=e, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/resident/v1/actuator/health", timeout=1)
            return p
        except Exception:
            time.sleep(0.1)
    p.kill()
    sys.exit("a server did not start")


def post(port, path, body, method="POST"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/resident/v1{path}", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"}, method=method)
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as res:
        answer = json.loads(res.read())
    return (time.perf_counter() - t) * 1000, answer


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def envelope(api, request):
    return {"id": api, "version": "v1", "requesttime": now(), "request": request}


def otp_from(outbox, before):
    for _ in range(200):
        files = sorted(set(glob.glob(os.path.join(outbox, "*-OTP-*.json"))) - before)
        if files:
            with open(files[-1]) as f:
                text = json.load(f)["message"]
            return next(w for w in "".join(c if c.isdigit() else " " for c in text).split() if len(w) == 6)
        time.sleep(0.02)
    sys.exit("no OTP arrived")


def journey(port, outbox, n):
    times = {"req/otp": [], "req/auth-history": [], "vid": [], "vid revoke": []}
    vid = None
    for i in range(n):
        for kind in ("history", "vid"):
            trn = f"{i:04d}{kind[:2].upper()}TIME"[:10]
            before = set(glob.glob(os.path.join(outbox, "*-OTP-*.json")))
            ms, a = post(port, "/req/otp", {"id": "mosip.identity.otp.internal", "version": "1.0",
                                            "transactionID": trn, "requestTime": now(), "individualId": JANE,
                                            "otpChannel": ["PHONE"]})
            assert a["errors"] is None, a
            times["req/otp"].append(ms)
            otp = otp_from(outbox, before)
            if kind == "history":
                ms, a = post(port, "/req/auth-history", envelope("mosip.resident.authhistory", {
                    "transactionID": trn, "individualId": JANE, "otp": otp, "pageStart": "1", "pageFetch": "10"}))
                times["req/auth-history"].append(ms)
            elif vid is None:
                ms, a = post(port, "/vid", envelope("mosip.resident.vid", {
                    "transactionID": trn, "individualId": JANE, "otp": otp, "vidType": "Temporary"}))
                times["vid"].append(ms)
                vid = a["response"]["vid"]
            else:
                body = {"id": "mosip.resident.vidstatus", "version": "v1", "requesttime": now(),
                        "request": {"transactionID": trn, "individualId": JANE, "individualIdType": "UIN",
                                    "otp": otp, "vidStatus": "REVOKED"}}
                ms, a = post(port, f"/vid/{vid}", body, method="PATCH")
                times["vid revoke"].append(ms)
                vid = None
            assert a["errors"] is None, a
    return times


def stats(values):
    v = sorted(values)
    return v[len(v) // 2], v[max(0, -(-len(v) * 95 // 100) - 1)]


def main():
    exe = binary()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    work = tempfile.mkdtemp(prefix="two-tier-")
    one, plat, tier = (os.path.join(work, d) for d in ("one", "platform", "tier"))
    run(exe, one, "demo")
    run(exe, plat, "demo")
    added = run(exe, plat, "admin", "client", "add", "--id", "mosip-resident-client", "--app-id", "resident",
                "--roles", "RESIDENT")
    secret = next(line.split(": ", 1)[1] for line in added.splitlines() if line.startswith("secret key"))
    p_one, p_plat, p_tier = free_port(), free_port(), free_port()
    procs = [serve(exe, one, p_one), serve(exe, plat, p_plat)]
    procs.append(serve(exe, tier, p_tier, {
        "RESIDENT_PLATFORM__MODE": "mosip", "RESIDENT_PLATFORM__MOSIP__BASE_URL": f"http://127.0.0.1:{p_plat}",
        "RESIDENT_PLATFORM__MOSIP__CLIENT_ID": "mosip-resident-client",
        "RESIDENT_PLATFORM__MOSIP__SECRET_KEY": secret}))
    try:
        results = {
            "one process": journey(p_one, os.path.join(one, "outbox"), n),
            "two tiers": journey(p_tier, os.path.join(plat, "outbox"), n),
        }
    finally:
        for p in procs:
            p.kill()
    print(f"{n} rounds each; median / p95 in ms")
    print("| call | one process | two tiers |")
    print("|---|---:|---:|")
    for call in results["one process"]:
        a, b = stats(results["one process"][call]), stats(results["two tiers"][call])
        print(f"| {call} | {a[0]:.1f} / {a[1]:.1f} | {b[0]:.1f} / {b[1]:.1f} |")


if __name__ == "__main__":
    main()
