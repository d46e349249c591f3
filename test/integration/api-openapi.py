#!/usr/bin/env python3
"""Checks serve's real answers against docs/openapi.yaml (test/integration/api-openapi.sh).

usage: api-openapi.py OPENAPI BASE_URL TOKEN OUT_DIR

Every GET operation of the file is asked (path parameters filled from what
the API itself lists) and its 200 answer validated against the operation's
schema, turned into JSON Schema (OpenAPI 3.0's nullable becomes a null
type).  additionalProperties: false makes a field the file does not list
fail.  As a check of the check, an answer with an extra field must fail.
Prints "ok ..." / "FAIL ..." lines; exits 1 on any failure.
"""
import copy
import json
import sys
import urllib.request

import jsonschema
import yaml

spec_path, base, token, out_dir = sys.argv[1:5]
with open(spec_path) as f:
    spec = yaml.safe_load(f)
fails = 0


def say(ok, msg):
    global fails
    print(("ok " if ok else "FAIL ") + msg, flush=True)
    if not ok:
        fails += 1


def to_json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema (draft 7): nullable, refs into definitions."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "$ref":
            out[k] = v.replace("#/components/schemas/", "#/definitions/")
        elif k in ("nullable", "example", "format") or k.startswith("x-"):
            continue
        else:
            out[k] = to_json_schema(v)
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


definitions = {k: to_json_schema(v) for k, v in spec["components"]["schemas"].items()}


def schema_of(op):
    s = op["responses"]["200"]["content"]["application/json"]["schema"]
    s = to_json_schema(s)
    s["definitions"] = definitions
    return s


def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def validate(schema, doc):
    try:
        jsonschema.Draft7Validator(schema).validate(doc)
        return None
    except jsonschema.ValidationError as e:
        return "%s at %s" % (e.message, "/".join(str(p) for p in e.absolute_path))


# names to fill {name} with: the first host and VM the API lists
hosts = json.loads(get("/api/v1/hosts")[2])["items"]
vms = json.loads(get("/api/v1/vms")[2])["items"]
backups = json.loads(get("/api/v1/backups")[2])["items"]
# a VM with a backup when there is one (its detail lists them)
fill = {"hosts": hosts[0]["name"] if hosts else "none",
        "vms": backups[0]["vm"] if backups else vms[0]["name"] if vms else "none"}

checked = 0
for path, ops in sorted(spec["paths"].items()):
    op = ops.get("get")
    if not op or path.endswith("/events/stream"):
        continue
    url = path
    if "{name}" in path:
        url = path.replace("{name}", fill[path.split("/")[3]])
    if path.endswith(".png"):
        # a graph: an image/png answer with the PNG signature (telemetry runs every second)
        url = url.replace("{metric}", "cpu_usage") + "?since=1h"
        req = urllib.request.Request(base + url, headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, timeout=20) as r:
            code, ctype, png = r.status, r.headers.get("Content-Type", ""), r.read()
        say(code == 200 and ctype == "image/png" and png.startswith(b"\x89PNG\r\n\x1a\n"),
            "GET %s is a PNG (%d %s, %d bytes)" % (url, code, ctype, len(png)))
        continue
    code, ctype, body = get(url)
    with open("%s/%s.json" % (out_dir, url.strip("/").replace("/", "_")), "w") as f:
        f.write(body)
    if code != 200 or not ctype.startswith("application/json"):
        say(False, "GET %s: %d %s" % (url, code, ctype))
        continue
    doc = json.loads(body)
    err = validate(schema_of(op), doc)
    say(err is None, "GET %s matches docs/openapi.yaml%s" % (url, ": " + err if err else ""))
    checked += 1
    # the check of the check: an undocumented field anywhere in the answer must fail
    bad = copy.deepcopy(doc)
    target = bad
    if isinstance(bad, dict) and bad.get("items"):
        target = bad["items"][0]
    if isinstance(target, dict):
        target["undocumented"] = 1
        say(validate(schema_of(op), bad) is not None, "GET %s with an undocumented field fails the check" % url)

# the stream: text/event-stream, its first event's data an Event
req = urllib.request.Request(base + "/api/v1/events/stream?since=0", headers={"Authorization": "Bearer " + token})
with urllib.request.urlopen(req, timeout=20) as r:
    ctype = r.headers.get("Content-Type", "")
    data = None
    while data is None:
        line = r.readline().decode()
        if not line:
            break
        if line.startswith("data: "):
            data = json.loads(line[6:])
err = validate(dict(definitions["Event"], definitions=definitions), data) if data else "no event"
say(ctype.startswith("text/event-stream") and err is None,
    "GET /api/v1/events/stream: %s, its events match Event%s" % (ctype, ": " + err if err else ""))
say(checked >= 13, "%d GET operations checked" % checked)
sys.exit(1 if fails else 0)
