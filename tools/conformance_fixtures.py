#!/usr/bin/env python3
"""The fixture data MOSIP's resident test cases need, made from the harness's own template.

  conformance_fixtures.py people TEMPLATE.json > people.jsonl
      one identity per fixture name, for `resident import` (each with an e-mail and a phone)
  conformance_fixtures.py fixtures TEMPLATE.json UINS.jsonl [RIDS] > fixtures.json
      the harness's fixtures: each name's UIN (from `resident import --uins`), e-mail and phone

Nothing here is a test case's value: the names come from the template the harness computes from the
cases, the people are made up, and the UINs are the ones the server allocated.
"""
import json
import sys


def names(template):
    return [n for n in template["identities"] if not n.startswith("_")]


def email(i):
    return f"resident{i:02d}@conformance.test"


def phone(i):
    return f"98765{i:05d}"


def rid(i):
    """The RID of the registration that produced person i (a centre and machine of the test's own)."""
    return f"1000210090{i:05d}20261101090000"


def people(template_path):
    template = json.load(open(template_path))
    for i, _ in enumerate(names(template), start=1):
        identity = {
            "fullName": [{"language": "eng", "value": f"Conformance Resident {i}"}],
            "dateOfBirth": "1992/04/15",
            "gender": [{"language": "eng", "value": "Female" if i % 2 else "Male"}],
            "addressLine1": [{"language": "eng", "value": f"{i} Harbour Road"}],
            "city": [{"language": "eng", "value": "Rabat"}],
            "postalCode": "14022",
            "email": email(i),
            "phone": phone(i),
            "preferredLang": "eng",
        }
        print(json.dumps({"identity": identity, "registrationId": rid(i)}))


def fixtures(template_path, uins_path):
    template = json.load(open(template_path))
    uins = {}
    for line in open(uins_path):
        if line.strip():
            entry = json.loads(line)
            uins[entry["line"]] = entry["UIN"]
    out = {
        "identities": {},
        "ids": {},
        "literals": template.get("literals", {}),
        "update_uin_identity": template.get("update_uin_identity", {}),
        "identity_json_padding": template.get("identity_json_padding", True),
    }
    for i, name in enumerate(names(template), start=1):
        if i not in uins:
            sys.exit(f"no UIN for line {i} ({name}): was it imported?")
        out["identities"][name] = {"UIN": uins[i], "EMAIL": email(i), "PHONE": phone(i), "RID": rid(i)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "people":
        people(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "fixtures":
        fixtures(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
