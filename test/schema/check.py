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
     each file in test/schema/good/ (values a stricter schema would refuse:
     names of digits, null for unset, sizes in bytes) passes both;
  4. test/schema/anchors*.yaml: anchors and aliases expand the same way in
     both; a merge key (<<) is refused by both;
  5. every field docs/reference.md lists is in the schema, under its kind;
  6. when node is installed, every pattern compiles as a JavaScript regular
     expression in unicode mode, as editors (yaml-language-server) run them.

YAML is read as yaml-language-server reads it (YAML 1.2 core schema: only
true/false are booleans, no "<<" merge keys), mapping keys as strings.
Exit 0 when all hold; prints one line per problem otherwise; exit 77 when
python3-jsonschema or python3-yaml is missing.
"""
import json
import os
import re
import shutil
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

# what the loader's conversion says (spec/parse.c): the errors a schema gives too
SCHEMA_CLASS = re.compile(r"error: (unknown key '|unknown kind '|expected [^']* for '[^']*', found|"
                          r"expected a (mapping with apiVersion|string key in|string value for)|"
                          r"missing required key '[^']*' in |missing required key 'kind'|"
                          r"invalid value '[^']*' for '|'[^']*' must be (at least|at most|between) |"
                          r"invalid size '|invalid duration '|unsupported apiVersion|invalid name '|"
                          r"invalid label key '|invalid value '[^']*' for label )")

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
    schema_abs = os.path.abspath(schema_path)
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
        bad_files = set()
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
                    bad_files.add(fpath)
                    spec_errors.append("%s: document %d: %s: %s" % (fpath, i + 1, path_str(e), e.message))
        if rc == 0:
            accepted += 1
            for msg in spec_errors:
                problem("validate accepts %s but the schema does not: %s" % (spec, msg[:300]))
        else:
            # file by file: the loader's conversion errors where the schema has errors
            loader_files = set()
            for line in out.splitlines():
                if SCHEMA_CLASS.search(line):
                    loader_files.add(line.split(":", 1)[0])
                    if line.split(":", 1)[0] not in bad_files:
                        problem("the schema accepts %s but validate reports: %s" % (
                            line.split(":", 1)[0], line[:300]))
            for fpath in sorted(bad_files - loader_files):
                problem("the schema refuses %s, validate has no such error there: %s" % (
                    fpath, [m for m in spec_errors if m.startswith(fpath)][:3]))
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

    # 3b. edge cases the loader accepts: the schema must accept them too
    good_dir = "test/schema/good"
    for name in sorted(os.listdir(good_dir)):
        fpath = os.path.join(good_dir, name)
        rc, out = validate(novacron, fpath)
        if rc != 0:
            problem("%s: validate exits %d: %s" % (fpath, rc, out[:300]))
        for d in docs_of(fpath):
            if d is not None:
                for e in errors_of(validators, d):
                    problem("%s: validate accepts it but the schema says %s: %s" % (
                        fpath, path_str(e), e.message[:200]))
    print("good files: %d" % len(os.listdir(good_dir)))

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

    # 5. every field of docs/reference.md (novacron explain --markdown) is in the schema
    specs_by_kind = {r["if"]["properties"]["kind"]["const"]: r["then"]["properties"]["spec"]
                     for r in schema["allOf"]}
    kind, nfields = None, 0
    with open("docs/reference.md", encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^## (\w+)$", line)
            if m:
                kind = m.group(1)
                if kind not in specs_by_kind:
                    problem("reference.md: kind %s is not in the schema" % kind)
                continue
            m = re.match(r"^\| `spec\.([^`]+)` \|", line)
            if not m or kind not in specs_by_kind:
                continue
            node = specs_by_kind[kind]
            for part in m.group(1).split("."):
                items = part.endswith("[]")
                node = node.get("properties", {}).get(part[:-2] if items else part)
                if node is None:
                    problem("reference.md: %s spec.%s is not in the schema" % (kind, m.group(1)))
                    break
                if items:
                    node = node["items"]
            else:
                nfields += 1
    if nfields < 100:
        problem("reference.md: only %d fields found (has its layout changed?)" % nfields)
    print("reference.md fields in the schema: %d" % nfields)

    # 6. editors run the patterns as JavaScript regular expressions (unicode mode)
    node = shutil.which("node") or shutil.which("nodejs")
    if node:
        js = ("const s=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'));let n=0;"
              "(function w(o){if(o&&typeof o==='object'){for(const k in o){"
              "if(k==='pattern'&&typeof o[k]==='string'){n++;try{new RegExp(o[k],'u')}"
              "catch(e){console.log('bad pattern: '+e.message)}}w(o[k])}}})(s);console.log('js patterns: '+n)")
        r = subprocess.run([node, "-e", js, schema_abs],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or "bad pattern" in r.stdout:
            problem("JavaScript rejects a pattern: %s %s" % (r.stdout[:500], r.stderr[:500]))
        print(r.stdout.strip())
    else:
        print("js patterns: not checked (no node)")


if __name__ == "__main__":
    main()
    sys.exit(1 if problems else 0)
