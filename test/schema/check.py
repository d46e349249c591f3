#!/usr/bin/env python3
"""check.py - the JSON Schema of the spec (novacron schema) against a real validator.

Usage: check.py NOVACRON SCHEMA SRCDIR

  1. the schema is a valid draft-07 and draft 2020-12 schema (check_schema);
  2. every document of every YAML file in the specs validate accepts
     (each folder of examples/, each entry of test/data/) passes it;
     a spec validate rejects while every document passes the schema must
     owe its errors to checks beyond a schema (references, rules between
     fields), never to a key, type, enum, range or required error;
  3. each file in test/schema/bad/ fails both: validate exits 1 and the
     schema reports an error at the path its "# expect: PATH TEXT" line names;
  4. test/schema/anchors*.yaml: anchors and aliases expand the same way in
     both; a merge key (<<) is refused by both.

YAML is read as yaml-language-server reads it (YAML 1.2 core schema: only
true/false are booleans, no "<<" merge keys), mapping keys as strings.
Exit 0 when all hold; prints one line per problem otherwise; exit 77 when
python3-jsonschema or python3-yaml is missing.
"""
import json
import os
import re
import subprocess
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover
    print("skip: %s (apt-get install python3-jsonschema python3-yaml)" % e)
    sys.exit(77)


class Core12Loader(yaml.SafeLoader):
    """YAML 1.2 core schema scalars; '<<' is an ordinary key."""


Core12Loader.yaml_implicit_resolvers = {}
for tag, rx, first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]:
    Core12Loader.add_implicit_resolver(tag, re.compile(rx), list(first))


def construct_int(loader, node):
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        return int(v[2:], 8)
    if v.startswith("0x"):
        return int(v[2:], 16)
    return int(v, 10)


def construct_bool(loader, node):
    return loader.construct_scalar(node) in ("true", "True", "TRUE")


def construct_mapping(loader, node):
    # no merge keys (SafeLoader expands "<<"); keys become strings, as in JSON
    out = {}
    for k, v in node.value:
        key = loader.construct_object(k, deep=True)
        if isinstance(key, bool):
            key = "true" if key else "false"
        out[str(key) if key is not None else "null"] = loader.construct_object(v, deep=True)
    return out


Core12Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
Core12Loader.add_constructor("tag:yaml.org,2002:bool", construct_bool)
Core12Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
Core12Loader.add_constructor("tag:yaml.org,2002:merge", lambda l, n: l.construct_scalar(n))

# what validate says when the schema should have said it too
SCHEMA_CLASS = re.compile(r"error: (unknown key|unknown kind|expected |missing required key|"
                          r"invalid value '[^']*' for|'[^']*' must be (at least|at most|between)|"
                          r"invalid size|invalid duration|unsupported apiVersion)")

problems = []


def problem(msg):
    problems.append(msg)
    print("FAIL: " + msg)


def docs_of(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=Core12Loader)]


def path_str(err):
    return ".".join(str(p) for p in err.absolute_path)


def errors_of(validators, doc):
    """Errors of every validator; both drafts must agree on pass or fail."""
    res = [sorted(v.iter_errors(doc), key=lambda e: (path_str(e), e.message)) for v in validators]
    if bool(res[0]) != bool(res[1]):
        problem("draft-07 and draft 2020-12 disagree on a document: %s / %s" % (
            [e.message for e in res[0]][:2], [e.message for e in res[1]][:2]))
    return res[0]


def yaml_files(top):
    if os.path.isfile(top):
        return [top] if top.endswith((".yaml", ".yml")) else []
    out = []
    for d, dirs, files in os.walk(top):
        dirs.sort()
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith((".yaml", ".yml"))]
    return out


def validate(novacron, path):
    r = subprocess.run([novacron, "validate", path], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def main():
    novacron, schema_path, src = sys.argv[1:4]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    for cls in (jsonschema.Draft7Validator, jsonschema.Draft202012Validator):
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as e:
            problem("%s.check_schema: %s" % (cls.__name__, e.message))
            return
    validators = [jsonschema.Draft7Validator(schema), jsonschema.Draft202012Validator(schema)]
    os.chdir(src)

    # 2. the specs in the tree
    specs = [os.path.join("examples", e) for e in sorted(os.listdir("examples"))]
    specs += [os.path.join("test/data", e) for e in sorted(os.listdir("test/data"))]
    accepted = ndocs = 0
    for spec in specs:
        files = yaml_files(spec)
        if not files:
            continue
        rc, out = validate(novacron, spec)
        spec_errors = []
        for fpath in files:
            try:
                docs = docs_of(fpath)
            except yaml.YAMLError as e:
                if rc == 0:
                    problem("%s: validate accepts it, the YAML reader does not: %s" % (fpath, e))
                continue
            for i, d in enumerate(docs):
                if d is None:
                    continue
                ndocs += 1
                for e in errors_of(validators, d):
                    spec_errors.append("%s: document %d: %s: %s" % (fpath, i + 1, path_str(e), e.message))
        if rc == 0:
            accepted += 1
            for msg in spec_errors:
                problem("validate accepts %s but the schema does not: %s" % (spec, msg[:300]))
        elif not spec_errors:
            for line in out.splitlines():
                if SCHEMA_CLASS.search(line):
                    problem("the schema accepts %s but validate reports: %s" % (spec, line[:300]))
    print("specs: %d, accepted by validate: %d, documents checked: %d" % (len(specs), accepted, ndocs))

    # 3. known-bad files
    bad_dir = "test/schema/bad"
    nbad = 0
    for name in sorted(os.listdir(bad_dir)):
        fpath = os.path.join(bad_dir, name)
        with open(fpath, encoding="utf-8") as f:
            m = re.search(r"^# expect: (\S*) (.*)$", f.read(), re.M)
        if not m:
            problem("%s: no '# expect: PATH TEXT' line" % fpath)
            continue
        want_path, want_text = m.group(1), m.group(2).strip()
        nbad += 1
        rc, out = validate(novacron, fpath)
        if rc != 1:
            problem("%s: validate exits %d, expected 1" % (fpath, rc))
        errs = [e for d in docs_of(fpath) if d is not None for e in errors_of(validators, d)]
        if not any(path_str(e) == want_path and want_text in e.message for e in errs):
            problem("%s: no schema error at '%s' with '%s'; got: %s" % (
                fpath, want_path, want_text, ["%s: %s" % (path_str(e), e.message[:120]) for e in errs]))
    print("bad files: %d" % nbad)

    # 4. anchors and aliases
    rc, out = validate(novacron, "test/schema/anchors.yaml")
    errs = [e for d in docs_of("test/schema/anchors.yaml") if d is not None for e in errors_of(validators, d)]
    if rc != 0 or errs:
        problem("anchors.yaml: validate exits %d, schema errors %s: both should accept" % (
            rc, [e.message for e in errs]))
    rc, out = validate(novacron, "test/schema/anchors-merge.yaml")
    errs = [e for d in docs_of("test/schema/anchors-merge.yaml") if d is not None
            for e in errors_of(validators, d)]
    if rc != 1 or "unknown key '<<'" not in out:
        problem("anchors-merge.yaml: validate exits %d without \"unknown key '<<'\": %s" % (rc, out[:300]))
    if not any("'<<'" in e.message for e in errs):
        problem("anchors-merge.yaml: the schema does not refuse '<<': %s" % [e.message for e in errs])
    print("anchors: checked")


if __name__ == "__main__":
    main()
    sys.exit(1 if problems else 0)
