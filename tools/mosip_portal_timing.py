#!/usr/bin/env python3
"""How long the endpoints MOSIP's portal app calls for documents, reads and masterdata take, from the page.

Starts `resident serve --demo` serving the built app, logs Jane in through the app in headless
Chromium (as tools/mosip_portal_journey.py does), locks an authentication type (an event to ask
about), then calls each endpoint 20 times from the page with the app's cookie and prints the median
and the 95th percentile in milliseconds. Figures go in docs/performance.md.

Usage: tools/mosip_portal_timing.py [path/to/resident]   (default: the debug binary)
"""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mosip_portal_journey as j  # noqa: E402

TIMED = """
  const [method, url, n] = arguments; const out = [];
  for (let i = 0; i < n; i++) {
    const x = new XMLHttpRequest(); x.open(method, url, false); x.withCredentials = true;
    const t = performance.now(); x.send(); out.push(performance.now() - t);
    if (x.status >= 400) return 'HTTP ' + x.status;
  }
  out.sort((a, b) => a - b); return [out[Math.floor(n / 2)], out[Math.ceil(n * 0.95) - 1]];"""


def main():
    dist = j.find_dist()
    if not dist:
        j.fail("MOSIP's built portal app is not there (set MOSIP_UI_DIST)")
    work = tempfile.mkdtemp(prefix="mosip-timing-")
    data, port = os.path.join(work, "data"), j.free_port()
    server = j.start_server(data, port, {"RESIDENT_PORTAL__SECURE_COOKIE": "false", "RESIDENT_MOSIP_UI__DIR": dist})
    downloads = os.path.join(work, "downloads")
    os.makedirs(downloads)
    app, api = f"http://127.0.0.1:{port}/resident-ui/", f"http://127.0.0.1:{port}/resident/v1"
    b = j.Browser(downloads)
    try:
        b.go(app)
        b.wait_text("UIN Services")
        j.log_in(b, os.path.join(data, "outbox"))
        b.click_text("OK")
        b.go(app + "#/uinservices/lockunlockauth")
        b.wait_text("Demographic Authentication")
        b.click_text("Lock", index=2)
        b.click("#updateAuthlockStatusBtn")
        b.expect_dialog("Are you sure")
        b.click("#lockunlockauthBtn")
        b.expect_dialog("saved successfully against the Event ID")
        b.click_text("OK")
        history = b.js("var x = new XMLHttpRequest(); x.open('GET', arguments[0], false); x.withCredentials = true;"
                       " x.send(); return x.responseText;", api + "/service-history/eng")
        eid = json.loads(history)["response"]["data"][0]["eventId"]
        print("| endpoint | median ms | p95 ms |\n|---|---:|---:|")
        for path in ["/service-history/eng", f"/ack/download/pdf/event/{eid}/language/eng",
                     f"/ack/download/pdf/event/{eid}/language/ara", "/download/service-history?languageCode=eng",
                     "/auth-proxy/config/ui-schema/share-credential", "/identity/info/type/share-credential",
                     # update my data
                     "/auth-proxy/config/ui-schema/update-demographics", "/identity/info/type/update-demographics",
                     "/identity/update-count", "/identity/get-pending-drafts/eng",
                     "/auth-proxy/masterdata/locations/immediatechildren/MOR?languageCodes=eng,ara,fra",
                     # get information (masterdata)
                     "/proxy/masterdata/registrationcenters/page/eng/1/rabat?pageNumber=0&pageSize=5",
                     "/proxy/masterdata/getcoordinatespecificregistrationcenters/eng/-6.58/34.26/2000",
                     "/proxy/masterdata/workingdays/10003/ara",
                     "/download/registration-centers-list?langcode=eng&hierarchylevel=1&name=Rabat",
                     "/download/supporting-documents?langcode=ara"]:
            result = b.js(TIMED, "GET", api + path, 20)
            if isinstance(result, str):
                j.fail(f"{path}: {result}")
            print(f"| `GET {path.replace(eid, '{eid}')}` | {result[0]:.1f} | {result[1]:.1f} |")
    finally:
        b.quit()
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
