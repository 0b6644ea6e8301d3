#!/usr/bin/env python3
"""The "who used my data" journey against the real binary, as an operator and a resident would go it.

`serve --demo` on a fresh data folder; Jane asks for a name change (API, OTP) and the officer named
amina.k reviews it with `resident admin verification show`; a print partner takes her printed card
over /print/v1; a credential partner receives a QR credential she shares; then Jane logs in to the
portal, sees those three accesses (who, when, what, why) and raises a grievance about one; the
officer sam's oversight query (`resident admin access-log`) shows the same.

Usage: tools/data_access_demo.py [path/to/resident]   (default: the debug binary)
Exit 0 when every step saw what it must; prints what it saw.
"""

import base64
import datetime
import glob
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TARGET, "debug", "resident")
JANE = "5075291708"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


work = tempfile.mkdtemp(prefix="data-access-demo-")
data = os.path.join(work, "data")
port = free_port()
base = f"http://127.0.0.1:{port}"
env = dict(os.environ, RESIDENT_DATA_DIR=data, RESIDENT_LISTEN=f"127.0.0.1:{port}", RESIDENT_LOG__LEVEL="warn",
           # urllib's cookie jar keeps Secure cookies off plain HTTP (browsers make an exception for localhost)
           RESIDENT_PORTAL__SECURE_COOKIE="false")
env.pop("RESIDENT_OPERATOR", None)


def cli(*args, operator=None, check=True):
    e = dict(env)
    if operator:
        e["RESIDENT_OPERATOR"] = operator
    out = subprocess.run([BIN, *args], env=e, capture_output=True, text=True)
    if check and out.returncode != 0:
        sys.exit(f"resident {' '.join(args)} failed: {out.stderr}")
    return out


def call(method, path, body=None, headers=None, opener=None, form=None):
    h = dict(headers or {})
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        h["content-type"] = "application/json"
    if form is not None:
        payload = urllib.parse.urlencode(form).encode()
        h["content-type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(base + path, data=payload, headers=h, method=method)
    try:
        res = (opener or urllib.request.build_opener()).open(req)
        return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except urllib.error.URLError:
        return 0, b""


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def envelope(api, request):
    return {"id": api, "version": "v1", "requesttime": now(), "request": request}


def latest_otp(since):
    for _ in range(100):
        files = [f for f in glob.glob(os.path.join(data, "outbox", "*OTP*.json")) if os.path.getmtime(f) >= since]
        if files:
            text = json.load(open(max(files, key=os.path.getmtime)))["message"]
            return re.search(r"\b(\d{6})\b", text).group(1)
        time.sleep(0.1)
    sys.exit("no OTP arrived in the outbox")


def otp(trn):
    since = time.time() - 0.01
    status, body = call("POST", "/resident/v1/req/otp", {"id": "mosip.identity.otp.internal", "version": "1.0",
        "transactionID": trn, "requestTime": now(), "individualId": JANE, "otpChannel": ["PHONE"]})
    assert json.loads(body)["errors"] in (None, []), body
    return latest_otp(since)


def wait_for(what, predicate):
    for _ in range(200):
        if predicate():
            return
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


server = subprocess.Popen([BIN, "serve", "--demo"], env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "server.log"), "w"))
try:
    wait_for("the server", lambda: call("GET", "/resident/v1/actuator/health")[0] == 200)

    # 1. Jane's name change, reviewed by the officer amina.k
    doc = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    identity = {"UIN": JANE, "fullName": [{"language": "eng", "value": "Jane Doe-Smith"}],
                "proofOfIdentity": {"value": "passport", "type": "DOC001", "format": "pdf"}}
    code = otp("7000000001")
    status, body = call("POST", "/resident/v1/req/update-uin", envelope("mosip.resident.updateuin", {
        "transactionID": "7000000001", "individualId": JANE, "individualIdType": "UIN", "otp": code,
        "identityJson": base64.urlsafe_b64encode(json.dumps({"identity": identity}).encode()).decode().rstrip("="),
        "documents": [{"name": "passport", "value": base64.b64encode(doc).decode()}]}))
    rid = json.loads(body)["response"]["registrationId"]
    wait_for("the update to wait for an officer", lambda: rid in cli("admin", "verification", "list").stdout)
    refused = cli("admin", "verification", "show", rid, "--out", os.path.join(work, "review"), check=False)
    assert refused.returncode != 0 and "RESIDENT_OPERATOR" in refused.stderr, refused
    shown = cli("admin", "verification", "show", rid, "--out", os.path.join(work, "review"), operator="amina.k")
    print(f"1. amina.k opened update {rid}:", shown.stdout.splitlines()[0:1])

    # 2. a print partner takes her printed card
    key = re.search(r"API key \(shown once, keep it secret\): (\S+)", cli(
        "admin", "partner", "add", "--id", "city-print", "--name", "City Print", "--partner-type", "Print_Partner").stdout).group(1)
    code = otp("7000000002")
    status, body = call("POST", "/resident/v1/req/print-uin", envelope("mosip.resident.printuin", {
        "transactionID": "7000000002", "individualId": JANE, "individualIdType": "UIN", "otp": code, "cardType": "UIN"}))
    assert json.loads(body)["errors"] is None, body
    auth = {"authorization": f"Bearer {key}"}
    jobs = json.loads(call("GET", "/print/v1/city-print/jobs", headers=auth)[1])["jobs"]
    status, taken = call("POST", f"/print/v1/city-print/jobs/{jobs[0]['id']}/take", headers=auth)
    assert status == 200, taken
    print("2. City Print took job", jobs[0]["trackingId"])

    # 3. a credential partner receives the details Jane shares
    cli("admin", "partner", "add", "--id", "first-bank", "--name", "First Bank", "--partner-type", "Credential_Partner")
    cli("admin", "partner", "policy", "--partner", "first-bank", "--credential-type", "qrcode", "--attributes", "fullName,dateOfBirth")
    code = otp("7000000003")
    status, body = call("POST", "/resident/v1/req/credential", {"id": "mosip.resident.credential.request", "version": "v1",
        "request": {"transactionID": "7000000003", "individualId": JANE, "otp": code, "credentialType": "qrcode", "issuer": "first-bank"}})
    request_id = json.loads(body)["response"]["requestId"]
    print("3. credential request", request_id, "for First Bank")

    # Jane, in the portal: the three accesses, then a grievance about the printing
    jar = CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = call("GET", "/login", opener=browser)[1].decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    since = time.time() - 0.01
    page = call("POST", "/login", opener=browser, form={"csrf": csrf, "individual_id": JANE, "channel": "PHONE"})[1].decode()
    found = re.search(r'name="transaction_id" value="([^"]+)"', page)
    assert found, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))[:1500]
    trn = found.group(1)
    code = latest_otp(since)
    call("POST", "/login/otp", opener=browser, form={"csrf": csrf, "individual_id": JANE, "transaction_id": trn, "otp": code})

    def page_text():
        return call("GET", "/account/data-access", opener=browser)[1].decode()

    wait_for("the credential to be issued", lambda: "First Bank" in page_text())
    html = page_text()
    rows = re.findall(r'<tr class="govuk-table__row" id="access-(\d{16})" data-kind="(\w+)">(.*?)</tr>', html, re.S)
    print(f"Jane sees {len(rows)} uses of her data:")
    for access_id, kind, row in rows:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        print("  ", access_id, "|", " | ".join(cells[:5]))
    assert len(rows) == 3, html
    assert any("Officer amina.k" in r[2] and rid in r[2] for r in rows)
    assert any("Partner City Print" in r[2] and jobs[0]["trackingId"] in r[2] for r in rows)
    assert any("Partner First Bank" in r[2] and request_id in r[2] for r in rows)
    printing = next(r[0] for r in rows if "City Print" in r[2])
    account_csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    done = call("POST", "/account/grievance", opener=browser,
                form={"csrf": account_csrf, "event": printing, "message": "I never ordered a printed card."})[1].decode()
    ticket = re.search(r"ticket number is (GRV-[A-Z0-9-]+)", done).group(1)
    print("Jane raised grievance", ticket, "about", printing)

    # the officer sam's oversight query shows the same three, and is itself recorded
    log = cli("admin", "access-log", "--identity", JANE, "--reason", f"grievance {ticket}", operator="sam").stdout
    print(log)
    for needle in ["MANUAL_VERIFICATION", "PRINTING", "CREDENTIAL", "OVERSIGHT", "amina.k", "City Print", "First Bank"]:
        assert needle in log, needle
    by_amina = cli("admin", "access-log", "--operator", "amina.k", "--reason", "quarterly review", operator="sam").stdout
    assert rid in by_amina, by_amina
    print("every step saw what it must")
finally:
    server.terminate()
    server.wait(timeout=20)
