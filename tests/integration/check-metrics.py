#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parses Prometheus text exposition from stdin with the reference client's parser
(Debian python3-prometheus-client) and prints the samples as JSON lines:
{"name": ..., "labels": {...}, "value": ...}. Exits 1, saying why, if the text does not
parse or a family name is used twice."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
seen = set()
try:
    for family in text_string_to_metric_families(text):
        if family.name in seen:
            sys.exit(f"metric family {family.name} appears twice")
        seen.add(family.name)
        if not family.documentation:
            sys.exit(f"metric family {family.name} has no HELP")
        for sample in family.samples:
            print(json.dumps({"name": sample.name, "labels": sample.labels, "value": sample.value}))
except ValueError as error:
    sys.exit(f"not Prometheus text: {error}")
