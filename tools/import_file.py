#!/usr/bin/env python3
"""A synthetic population for `resident import` benchmarks: N made-up people, one JSON line each.

  tools/import_file.py N OUT.jsonl [--start K]

Names, birth dates, genders, addresses, e-mails and phones are drawn from small made-up lists with a
fixed seed, so the same N gives the same file; every line is a different person (the index is part of
the name), so nothing is "already present" on a first run.
"""
import json
import random
import sys

GIVEN = ["Amina", "Omar", "Jane", "Yusuf", "Leila", "Karim", "Sara", "Idris", "Nadia", "Tariq", "Maya", "Hassan"]
FAMILY = ["Doe", "Farouk", "Benali", "Haddad", "Mansour", "Alaoui", "Idrissi", "Tazi", "Berrada", "Kettani"]
CITIES = ["Tangier", "Rabat", "Fes", "Agadir", "Oujda", "Meknes"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    n = int(sys.argv[1])
    start = int(sys.argv[sys.argv.index("--start") + 1]) if "--start" in sys.argv else 0
    rng = random.Random(20261202)
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        for i in range(start, start + n):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            name = f"{given} {family} {i}"
            line = {"identity": {
                "fullName": [{"language": "eng", "value": name}],
                "dateOfBirth": f"{rng.randint(1940, 2006)}/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}",
                "gender": [{"language": "eng", "value": rng.choice(["Female", "Male"])}],
                "addressLine1": [{"language": "eng", "value": f"{rng.randint(1, 400)} Avenue {rng.randint(1, 90)}"}],
                "city": [{"language": "eng", "value": rng.choice(CITIES)}],
                "email": f"person{i}@example.org",
                "phone": f"9{rng.randint(100000000, 999999999)}",
            }}
            out.write(json.dumps(line, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
