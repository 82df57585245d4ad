#!/usr/bin/env python3
"""oas_extract: condense Zendesk's published OpenAPI description of the
Support API into tests/fakes/zendesk_oas.json, the table the fake Zendesk
checks every request against (see "Checked against the OpenAPI description"
in fake_zendesk.py and docs/operations.md).

    python3 tests/fakes/oas_extract.py SUPPORT-OAS.yaml [-o tests/fakes/zendesk_oas.json]

The YAML is not in this repository (1.5 MB, Apache-2.0, Peanut Butter
Unicorn LLC): the copy used is the one vendored by the public Java client
pbu-projects/z4j at src/main/resources/Ticketing.yaml (May 2026), kept at
shared/research/zendesk-support-oas.yaml beside the project.  Needs PyYAML
(only here; the fake reads the JSON with the standard library).

For every path template and method the JSON holds:
  query  the declared query parameter names, $ref resolved; a deepObject
         parameter ("page", schema oneOf integer | {after, before, size})
         is listed as it appears on the wire: "page", "page[after]", ...;
         names the OAS writes with brackets ("role[]") are kept as written.
  body   null when the OAS describes no JSON request body; otherwise
         {wrapper: fields} for the top-level keys ("user", "users", ...),
         where fields is the sorted list of property names one level below
         (for an array wrapper: of its items), or null when that level is
         free-form.  $ref, allOf, anyOf and oneOf are resolved (anyOf and
         oneOf as the union of their branches: "user" on POST /api/v2/users
         is UserInput = anyOf UserCreateInput, UserMergeInput).
         additionalProperties is ignored on purpose: the point is to catch
         field names the description does not declare.
Paths are written as the OAS writes them: without ".json".
"""
import argparse
import hashlib
import json
import os
import sys

import yaml

METHODS = ("get", "put", "post", "patch", "delete")


class Loader(yaml.SafeLoader):
    """SafeLoader that reads the bare "=" (tag:yaml.org,2002:value) as a string."""


Loader.add_constructor("tag:yaml.org,2002:value", lambda ld, node: ld.construct_scalar(node))


def deref(doc, o, seen=()):
    while isinstance(o, dict) and "$ref" in o:
        ref = o["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError("unsupported or circular $ref %s" % ref)
        seen = seen + (ref,)
        cur = doc
        for part in ref[2:].split("/"):
            cur = cur[part.replace("~1", "/").replace("~0", "~")]
        o = cur
    return o


def properties(doc, schema, depth=0):
    """The property schemas an object schema declares: {name: schema}, or None
    when the schema is free-form (declares no properties anywhere)."""
    if depth > 20:
        raise ValueError("schema nests too deep")
    s = deref(doc, schema)
    if not isinstance(s, dict):
        return None
    if s.get("type") == "array" or "items" in s:
        return properties(doc, s.get("items", {}), depth + 1)
    out, found = {}, False
    if isinstance(s.get("properties"), dict):
        out.update(s["properties"])
        found = True
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in s.get(key) or []:
            p = properties(doc, branch, depth + 1)
            if p is not None:
                for k, v in p.items():
                    out.setdefault(k, v)
                found = True
    return out if found else None


def query_names(doc, params):
    names = set()
    for p in params or []:
        p = deref(doc, p)
        if p.get("in") != "query":
            continue
        name = p["name"]
        if p.get("style") == "deepObject":
            schema = deref(doc, p.get("schema", {}))
            branches = [schema] + [deref(doc, b) for k in ("oneOf", "anyOf")
                                   for b in schema.get(k) or []]
            for b in branches:
                if b.get("type") == "object" or "properties" in b:
                    for sub in (b.get("properties") or {}):
                        names.add("%s[%s]" % (name, sub))
                elif b is not schema or not (schema.get("oneOf") or schema.get("anyOf")):
                    names.add(name)  # the scalar form, e.g. ?page=2
        else:
            names.add(name)
    return sorted(names)


def body_fields(doc, op):
    rb = deref(doc, op.get("requestBody"))
    if not isinstance(rb, dict):
        return None
    media = (rb.get("content") or {}).get("application/json")
    if not media or "schema" not in media:
        return None
    top = properties(doc, media["schema"])
    if top is None:
        return {}
    out = {}
    for wrapper, sub in sorted(top.items()):
        p = properties(doc, sub)
        out[wrapper] = sorted(p) if p is not None else None
    return out


def extract(doc):
    paths = {}
    for tmpl, item in sorted(doc["paths"].items()):
        item = deref(doc, item)
        common = item.get("parameters") or []
        ops = {}
        for m in METHODS:
            op = item.get(m)
            if op is None:
                continue
            params = list(common) + list(op.get("parameters") or [])
            ops[m.upper()] = {"query": query_names(doc, params), "body": body_fields(doc, op)}
        paths[tmpl] = ops
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("yaml", help="the Support API OpenAPI description (YAML)")
    ap.add_argument("-o", "--output",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "zendesk_oas.json"))
    a = ap.parse_args(argv)
    with open(a.yaml, "rb") as f:
        raw = f.read()
    doc = yaml.load(raw, Loader=_c_loader() if hasattr(yaml, "CSafeLoader") else Loader)
    out = {
        "source": {
            "description": "%s %s (OpenAPI %s)" % (doc["info"]["title"], doc["info"]["version"],
                                                   doc["openapi"]),
            "origin": "Zendesk's published OpenAPI description of the Support API, as vendored "
                      "(May 2026) by the public Java client pbu-projects/z4j at "
                      "src/main/resources/Ticketing.yaml (Apache-2.0, Peanut Butter Unicorn "
                      "LLC); project copy: shared/research/zendesk-support-oas.yaml",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "generated_by": "tests/fakes/oas_extract.py",
            "regenerate": "python3 tests/fakes/oas_extract.py SUPPORT-OAS.yaml "
                          "(docs/operations.md, Testing against the OpenAPI description)",
        },
        # sorted throughout (deterministic output), "source" first
        "paths": json.loads(json.dumps(extract(doc), sort_keys=True)),
    }
    tmp = a.output + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)  # one name a line: diffs stay readable
        f.write("\n")
    os.replace(tmp, a.output)
    n = sum(len(v) for v in out["paths"].values())
    print("%s: %d paths, %d operations" % (a.output, len(out["paths"]), n))
    return 0


def _c_loader():
    """The libyaml loader (10x faster) with the same "=" mapping."""
    class CLoader(yaml.CSafeLoader):
        pass
    CLoader.add_constructor("tag:yaml.org,2002:value",
                            lambda ld, node: ld.construct_scalar(node))
    return CLoader


if __name__ == "__main__":
    sys.exit(main())
