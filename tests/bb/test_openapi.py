"""docs/api/openapi.yaml against the code: the route table of
src/rest/routes.c and the document list the same (method, path) pairs, with
the same flags (public, admin-only, body, stream, metrics) and query
parameters; and real answers of a running vnfmd, from health to a deployment
with monitoring and a decision, validate against the documented schemas
(required members present, no undocumented member, types, enums, ranges)."""
import copy
import json
import os
import re
import time
import unittest
import urllib.request

import yaml  # Debian python3-yaml (scripts/deps.sh)

from vnfm import Daemon, DaemonTest, ROOT, VNFDS, wait_for

SPEC_FILE = os.path.join(ROOT, "docs", "api", "openapi.yaml")
ROUTES_C = os.path.join(ROOT, "src", "rest", "routes.c")
# the federation's /v0 routes (its api_routes[], mounted on every vnfmd; its
# /fed/v1 routes between managers are not an API of users)
FED_ROUTES_C = os.path.join(ROOT, "src", "fed", "fed_routes.c")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


# ---- the route table ----

def parse_routes(text):
    """{(METHOD, path): {"flags": set, "params": [names], "body": bool}} from
    routes.c. Every entry of api_routes[] must be understood: an entry in a
    form this parser does not know fails, rather than being skipped."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    arrays = {m.group(1): re.findall(r'"([^"]*)"', m.group(2)) for m in re.finditer(
        r"static const char \*const (\w+)\[\]\s*=\s*\{([^}]*)\};", text)}
    start = text.index("api_routes[] = {") + len("api_routes[] = {")
    end = text.index("\n};", start)
    strings = []

    def mask(m):  # string literals out of the way of the braces of "{id}"
        strings.append(m.group(1))
        return '"%d"' % (len(strings) - 1)

    def lit(token):
        token = token.strip()
        if not re.fullmatch(r'"\d+"', token):
            raise AssertionError("not a string literal in api_routes[]: " + token)
        return strings[int(token.strip('"'))]

    table = re.sub(r'"([^"]*)"', mask, text[start:end])
    routes = {}

    def add(method, path, flags, params, schema):
        key = (method, path)
        if key in routes:
            raise AssertionError("route %s %s is in the table twice" % key)
        if params not in arrays:
            raise AssertionError("unknown query parameter list %r for %s %s" % (params, *key))
        routes[key] = {"flags": {f.strip() for f in flags.split("|") if f.strip() != "0"},
                       "params": arrays[params], "body": schema not in (None, "NULL")}

    def args(s):
        return [a.strip() for a in s.split(",")]

    for m in re.finditer(r"\bGET\(([^()]*)\)", table):
        a = args(m.group(1))  # fed_routes.c's GET has no parameter list: no_params
        path, _name, flags, _fn, params = a if len(a) == 5 else a + ["no_params"]
        add("GET", lit(path), flags, params, None)
    for m in re.finditer(r"\bWRITE\(([^()]*)\)", table):
        method, path, _name, flags, _fn, schema = args(m.group(1))
        add(lit(method), lit(path), flags, "no_params", schema)
    for m in re.finditer(r"\{([^{}]*)\}", table):
        fields = {k: v.strip() for k, v in re.findall(r"\.(\w+)\s*=\s*([^,]+)", m.group(1))}
        if "method" not in fields or "pattern" not in fields:
            raise AssertionError("route entry without .method/.pattern: %s" % m.group(0))
        has_body = "schema" in fields or "validate" in fields
        add(lit(fields["method"]), lit(fields["pattern"]), fields.get("flags", "0"),
            fields.get("params", "no_params"), "x" if has_body else None)
    rest = re.sub(r"\bGET\([^()]*\)|\bWRITE\([^()]*\)|\{[^{}]*\}", "", table)
    if rest.strip(" \t\n,"):
        raise AssertionError("unparsed text in api_routes[]: %r" % rest.strip())
    return routes


def spec_routes(spec):
    return {(m.upper(), p) for p, item in spec["paths"].items() for m in item
            if m in HTTP_METHODS}


def route_diff(routes, spec):
    """(in the code but not documented, documented but not in the code)."""
    code, doc = set(routes), spec_routes(spec)
    return sorted(code - doc), sorted(doc - code)


# ---- the document ----

def load_spec():
    with open(SPEC_FILE) as f:
        return yaml.safe_load(f)


def deref(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), "only local references: " + ref
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def operation(spec, method, path):
    return spec["paths"][path][method.lower()]


def parameters(spec, method, path):
    item = spec["paths"][path]
    return [deref(spec, p) for p in item.get("parameters", []) +
            operation(spec, method, path).get("parameters", [])]


def response(spec, method, path, status):
    resps = operation(spec, method, path)["responses"]
    assert str(status) in resps, "%s %s: status %s is not documented (%s)" % (
        method, path, status, sorted(resps))
    return deref(spec, resps[str(status)])


TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def validate(spec, inst, schema, where="$"):
    """Checks inst against an OpenAPI 3.0 schema; returns a list of problems.
    Objects are closed: a member the schema does not list is a problem unless
    additionalProperties allows it."""
    schema = deref(spec, schema)
    errs = []
    if inst is None:
        typed = merge_all_of(spec, schema).keys() & {"type", "properties", "enum", "oneOf"}
        return [] if schema.get("nullable") or not typed else ["%s: null" % where]
    if "oneOf" in schema or "anyOf" in schema:
        key = "oneOf" if "oneOf" in schema else "anyOf"
        results = [validate(spec, inst, s, where) for s in schema[key]]
        ok = sum(1 for r in results if not r)
        if (key == "oneOf" and ok != 1) or (key == "anyOf" and ok == 0):
            best = min(results, key=len)
            errs.append("%s: matches %d of %s (closest: %s)" % (where, ok, key, best))
        if set(schema) <= {"oneOf", "anyOf", "discriminator", "description"}:
            return errs
    merged = merge_all_of(spec, schema)
    t = merged.get("type")
    if t == "integer":
        if not isinstance(inst, int) or isinstance(inst, bool):
            return errs + ["%s: %r is not an integer" % (where, inst)]
    elif t == "number":
        if not isinstance(inst, (int, float)) or isinstance(inst, bool):
            return errs + ["%s: %r is not a number" % (where, inst)]
    elif t in TYPES and not isinstance(inst, TYPES[t]):
        return errs + ["%s: %r is not of type %s" % (where, inst, t)]
    if "enum" in merged and inst not in merged["enum"]:
        errs.append("%s: %r is not one of %s" % (where, inst, merged["enum"]))
    if isinstance(inst, (int, float)) and not isinstance(inst, bool):
        if "minimum" in merged and inst < merged["minimum"]:
            errs.append("%s: %r < minimum %r" % (where, inst, merged["minimum"]))
        if "maximum" in merged and inst > merged["maximum"]:
            errs.append("%s: %r > maximum %r" % (where, inst, merged["maximum"]))
    if isinstance(inst, str):
        if "pattern" in merged and not re.search(merged["pattern"], inst):
            errs.append("%s: %r does not match %s" % (where, inst, merged["pattern"]))
        if len(inst) < merged.get("minLength", 0) or len(inst) > merged.get("maxLength", 1e18):
            errs.append("%s: length of %r out of range" % (where, inst))
    if isinstance(inst, list):
        if len(inst) < merged.get("minItems", 0) or len(inst) > merged.get("maxItems", 1e18):
            errs.append("%s: %d items out of range" % (where, len(inst)))
        if "items" in merged:
            for i, item in enumerate(inst):
                errs += validate(spec, item, merged["items"], "%s[%d]" % (where, i))
    if isinstance(inst, dict):
        props = merged.get("properties", {})
        for name in merged.get("required", []):
            if name not in inst:
                errs.append("%s: required member '%s' is missing" % (where, name))
        extra = merged.get("additionalProperties", False if props else True)
        for name, value in inst.items():
            sub = "%s.%s" % (where, name)
            if name in props:
                errs += validate(spec, value, props[name], sub)
            elif extra is False:
                errs.append("%s: member not documented" % sub)
            elif isinstance(extra, dict) and extra:
                errs += validate(spec, value, extra, sub)
    return errs


def merge_all_of(spec, schema):
    """The schema with its allOf parts folded in (properties, required)."""
    schema = deref(spec, schema)
    if "allOf" not in schema:
        return schema
    out = {k: v for k, v in schema.items() if k != "allOf"}
    props, required = dict(out.get("properties", {})), list(out.get("required", []))
    for part in schema["allOf"]:
        part = merge_all_of(spec, part)
        for k, v in part.items():
            if k == "properties":
                props.update(v)
            elif k == "required":
                required += v
            elif k not in ("description", "nullable"):
                out.setdefault(k, v)
    if props:
        out["properties"] = props
    if required:
        out["required"] = required
    return out


# ---- static checks: the document against routes.c ----

class OpenApiDocumentTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.spec = load_spec()
        with open(ROUTES_C) as f:
            cls.routes = parse_routes(f.read())
        with open(FED_ROUTES_C) as f:
            fed = parse_routes(f.read())
        cls.fed_routes = fed
        both = set(cls.routes) & set(fed)
        assert not both, "routes both in routes.c and fed_routes.c: %s" % sorted(both)
        cls.routes.update(fed)

    def test_federation_routes_are_parsed(self):
        self.assertIn(("GET", "/v0/managers"), self.fed_routes)
        self.assertIn(("DELETE", "/v0/managers/{id}"), self.fed_routes)  # an explicit entry
        self.assertEqual(self.fed_routes[("DELETE", "/v0/managers/{id}")]["params"], ["force"])
        self.assertNotIn(("POST", "/report"), self.fed_routes)  # /fed/v1, between managers

    def test_document_is_openapi_303(self):
        self.assertEqual(self.spec["openapi"], "3.0.3")
        for key in ("info", "paths", "components"):
            self.assertIn(key, self.spec)
        # every local reference resolves
        with open(SPEC_FILE) as f:
            refs = re.findall(r'\$ref: "([^"]+)"', f.read())
        self.assertGreater(len(refs), 100)
        for ref in set(refs):
            deref(self.spec, {"$ref": ref})

    def test_route_table_is_parsed(self):
        self.assertGreaterEqual(len(self.routes), 30)
        self.assertIn(("GET", "/v0/health"), self.routes)
        self.assertIn(("POST", "/v0/vnfds"), self.routes)  # the explicit entry
        self.assertIn("R_PUBLIC", self.routes[("GET", "/v0/health")]["flags"])
        self.assertEqual(self.routes[("POST", "/v0/vnfds")]["params"], ["tenant"])
        # a table entry in a form the parser does not know is an error
        with self.assertRaises(AssertionError):
            parse_routes('const struct route api_routes[] = {\n    ROUTE("/x"),\n};\n')

    def test_every_route_is_documented_and_nothing_else(self):
        missing, extra = route_diff(self.routes, self.spec)
        self.assertEqual(missing, [], "routes of src/rest/routes.c, src/fed/fed_routes.c not "
                         "in openapi.yaml")
        self.assertEqual(extra, [], "routes in openapi.yaml that src/rest/routes.c and "
                         "src/fed/fed_routes.c lack")

    def test_the_comparison_catches_a_difference(self):
        spec = copy.deepcopy(self.spec)
        spec["paths"].pop("/v0/deployments/{id}/resize", None)
        spec["paths"]["/v0/nothing"] = {"get": {"responses": {}}}
        missing, extra = route_diff(self.routes, spec)
        self.assertEqual(missing, [("POST", "/v0/deployments/{id}/resize")])
        self.assertEqual(extra, [("GET", "/v0/nothing")])

    def test_flags_and_query_parameters(self):
        documented = spec_routes(self.spec)
        for (method, path), rt in sorted(self.routes.items()):
            if (method, path) not in documented:
                continue  # test_every_route_is_documented_and_nothing_else says so
            where = "%s %s" % (method, path)
            op = operation(self.spec, method, path)
            security = op.get("security", self.spec["security"])
            if "R_PUBLIC" in rt["flags"]:
                self.assertEqual(security, [], where + ": public, so security: []")
            elif "R_METRICS" in rt["flags"]:
                self.assertIn({}, security, where + ": anonymous with --metrics-public")
                self.assertIn({"bearerAuth": []}, security, where)
            else:
                self.assertEqual(security, self.spec["security"], where)
                self.assertNotIn({}, security, where)
            self.assertEqual("R_ADMIN" in rt["flags"], "Admin only" in op.get("description", ""),
                             where + ": admin-only routes (only they) say 'Admin only'")
            body = op.get("requestBody")
            self.assertEqual(body is not None, rt["body"], where + ": request body")
            if body:
                self.assertEqual(body.get("required", False), "R_BODY" in rt["flags"],
                                 where + ": requestBody.required is R_BODY")
                self.assertEqual(list(body["content"]), ["application/json"], where)
            ok = [s for s in op["responses"] if s.startswith("2")]
            self.assertEqual(len(ok), 1, where + ": one success status")
            ctypes = list(deref(self.spec, op["responses"][ok[0]]).get("content", {}))
            if "R_STREAM" in rt["flags"]:
                self.assertEqual(ctypes, ["text/event-stream"], where)
            elif "R_METRICS" in rt["flags"]:
                self.assertEqual(ctypes, ["text/plain"], where)
            else:
                self.assertIn(ctypes, ([], ["application/json"]), where)
            if "R_PUBLIC" not in rt["flags"] and "R_METRICS" not in rt["flags"]:
                self.assertIn("401", op["responses"], where)
            if "R_ADMIN" in rt["flags"]:
                self.assertIn("403", op["responses"], where)
            if method != "GET" and "R_NOLOCK" not in rt["flags"]:
                self.assertIn("409", op["responses"], where + ": a NETCONF lock answers 409")
            query = sorted(p["name"] for p in parameters(self.spec, method, path)
                           if p["in"] == "query")
            self.assertEqual(query, sorted(rt["params"]), where + ": query parameters")
            for p in parameters(self.spec, method, path):
                if p["in"] == "path":
                    self.assertIn("{%s}" % p["name"], path, where)
            for name in re.findall(r"\{(\w+)\}", path):
                self.assertIn(name, [p["name"] for p in parameters(self.spec, method, path)
                                     if p["in"] == "path"], where + ": path parameter")

    def test_lifecycle_requests_take_callback_and_answer_202(self):
        lifecycle = [("POST", "/v0/deployments"), ("DELETE", "/v0/deployments/{id}"),
                     ("POST", "/v0/deployments/{id}/heal"),
                     ("POST", "/v0/deployments/{id}/scale"),
                     ("POST", "/v0/deployments/{id}/resize")]
        for method, path in lifecycle:
            names = [p["name"] for p in parameters(self.spec, method, path) if p["in"] == "header"]
            self.assertIn("Callback", names, path)
            self.assertIn("Client-Transaction-Id", names, path)
            accepted = response(self.spec, method, path, 202)
            self.assertIn("Location", accepted["headers"])
            self.assertEqual(accepted["content"]["application/json"]["schema"]["$ref"],
                             "#/components/schemas/Operation")
        for (method, path) in set(self.routes) & spec_routes(self.spec):
            if method != "GET":
                names = [p["name"] for p in parameters(self.spec, method, path)]
                self.assertIn("Client-Transaction-Id", names, "%s %s" % (method, path))

    def test_example_vnfds_match_the_vnfd_schema(self):
        names = sorted(f for f in os.listdir(VNFDS) if f.endswith(".json"))
        self.assertTrue(names)
        for name in names:
            with open(os.path.join(VNFDS, name)) as f:
                doc = json.load(f)
            self.assertEqual(validate(self.spec, doc, {"$ref": "#/components/schemas/Vnfd"}),
                             [], name)

    def test_the_validator_finds_problems(self):
        spec = self.spec
        good = {"status": 404, "error": "not-found", "message": "x", "object": "vnfd/x"}
        self.assertEqual(validate(spec, good, {"$ref": "#/components/schemas/Error"}), [])
        for bad in ({"status": 404, "error": "not-found"},                    # missing member
                    dict(good, surprise=1),                                  # undocumented one
                    dict(good, error="nope"),                                # not in the enum
                    dict(good, status="404")):                               # wrong type
            self.assertTrue(validate(spec, bad, {"$ref": "#/components/schemas/Error"}), bad)
        metric = {"$ref": "#/components/schemas/Metric"}
        self.assertEqual(validate(spec, {"probe": "tcp", "port": 80}, metric), [])
        self.assertTrue(validate(spec, {"probe": "tcp", "oid": ".1.3"}, metric))
        self.assertTrue(validate(spec, {"probe": "tcp"}, metric))


# ---- dynamic checks: real answers against the document ----

def demo_vnfd(vnfd_id="oa-demo"):
    with open(os.path.join(VNFDS, "demo-web.json")) as f:
        v = json.load(f)
    v["id"] = vnfd_id
    v["monitoring"] = {"interval_s": 0.5, "metrics": {
        "load": {"probe": "push"},
        "alive": {"probe": "tcp", "port": 8080, "timeout_ms": 500}}}
    v["rules"] = [{"name": "hot", "metric": "load", "op": ">", "threshold": 5,
                   "stage": "overloaded", "cooldown_s": 60,
                   "actions": [{"action": "log", "level": "warn", "message": "hot"}]}]
    return v


class OpenApiAnswersTest(DaemonTest):

    @classmethod
    def setUpClass(cls):
        cls.spec = load_spec()
        super().setUpClass()

    def call(self, method, path, route, body=None, expect=None, **kw):
        """Makes the request; checks that its status is documented for route
        and that the body validates against the documented schema."""
        status, doc, headers = self.d.request(method, path, body, **kw)
        if expect is not None:
            self.assertEqual(status, expect, "%s %s: %s" % (method, path, doc))
        resp = response(self.spec, method, route, status)
        content = resp.get("content", {})
        if doc is None:
            self.assertEqual(content, {}, "%s %s answered no body" % (method, path))
        else:
            self.assertIn("application/json", content, "%s %s" % (method, path))
            errs = validate(self.spec, doc, content["application/json"]["schema"])
            self.assertEqual(errs, [], "%s %s -> %s:\n%s" % (
                method, path, status, json.dumps(doc, indent=1)[:3000]))
        for h in ("Location", "Client-Transaction-Id"):
            if h in headers:
                self.assertIn(h, resp.get("headers", {}), "%s %s -> %s: header %s" % (
                    method, path, status, h))
        return status, doc, headers

    def test_system_answers(self):
        self.call("GET", "/v0/health", "/v0/health", token=None, expect=200)
        _, v, _ = self.call("GET", "/v0/version", "/v0/version", expect=200)
        self.assertEqual(v["version"], self.spec["info"]["version"])
        self.call("GET", "/v0/version", "/v0/version", token=None, expect=401)
        _, sites, _ = self.call("GET", "/v0/sites", "/v0/sites", expect=200)
        self.assertTrue(sites["sites"])
        self.call("GET", "/v0/sites/local", "/v0/sites/{id}", expect=200)
        self.call("GET", "/v0/sites/nope", "/v0/sites/{id}", expect=404)
        cap = sites["sites"][0]["capacity"]
        self.call("PUT", "/v0/sites/local", "/v0/sites/{id}", {"capacity": cap}, expect=200)
        self.call("GET", "/v0/sites?bogus=1", "/v0/sites", expect=400)
        # /metrics is Prometheus text
        req = urllib.request.Request(self.d.url + "/metrics",
                                     headers={"Authorization": "Bearer " + self.d.token})
        with urllib.request.urlopen(req, timeout=10) as r:
            ctype = r.headers["Content-Type"].split(";")[0]
            self.assertIn(ctype, response(self.spec, "GET", "/metrics", 200)["content"])
            self.assertIn("vnfm_health_code ", r.read().decode())
        self.call("GET", "/metrics", "/metrics", token=None, expect=401)

    def test_catalogue_answers(self):
        _, t, hdrs = self.call("POST", "/v0/tenants", "/v0/tenants", {"id": "oa-acme"},
                               headers={"Client-Transaction-Id": "oa-1"}, expect=201)
        self.assertEqual(hdrs["Location"], "/v0/tenants/oa-acme")
        self.assertEqual(hdrs["Client-Transaction-Id"], "oa-1")
        self.call("POST", "/v0/tenants/oa-x", "/v0/tenants/{id}", expect=201)
        self.call("POST", "/v0/tenants", "/v0/tenants", {"id": "oa-acme"}, expect=409)
        self.call("POST", "/v0/tenants", "/v0/tenants", {"id": "-bad"}, expect=400)
        self.call("POST", "/v0/tenants", "/v0/tenants", raw=b"{", expect=400)
        self.call("PUT", "/v0/tenants/oa-acme", "/v0/tenants/{id}", {"name": "Acme"}, expect=200)
        self.call("GET", "/v0/tenants", "/v0/tenants", expect=200)
        self.call("GET", "/v0/tenants/oa-acme", "/v0/tenants/{id}", expect=200)
        _, tok, _ = self.call("POST", "/v0/tenants/oa-acme/tokens", "/v0/tenants/{id}/tokens",
                              {"description": "openapi"}, expect=201)
        self.call("GET", "/v0/tokens", "/v0/tokens", expect=200)
        self.call("GET", "/v0/tokens", "/v0/tokens", token=tok["token"], expect=403)
        self.call("POST", "/v0/tenants", "/v0/tenants", {"id": "oa-y"}, token=tok["token"],
                  expect=403)
        _, rec, _ = self.call("POST", "/v0/vnfds", "/v0/vnfds", demo_vnfd("oa-cat"), expect=201)
        self.assertEqual(rec["descriptor"]["id"], "oa-cat")
        self.call("GET", "/v0/vnfds", "/v0/vnfds", expect=200)
        self.call("GET", "/v0/vnfds/oa-cat", "/v0/vnfds/{id}", expect=200)
        _, err, _ = self.call("GET", "/v0/vnfds/nope", "/v0/vnfds/{id}", expect=404)
        self.assertEqual(err["object"], "vnfd/nope")
        self.call("POST", "/v0/vnfds", "/v0/vnfds", dict(demo_vnfd("oa-2"), vdus=[]),
                  expect=400)
        self.call("DELETE", "/v0/tokens/" + tok["id"], "/v0/tokens/{id}", expect=204)
        self.call("DELETE", "/v0/tenants/oa-x", "/v0/tenants/{id}", expect=204)
        self.call("GET", "/v0/logs?category=audit&limit=5", "/v0/logs", expect=200)
        self.call("GET", "/v0/logs?limit=x", "/v0/logs", expect=400)

    def test_lifecycle_and_monitoring_answers(self):
        self.d.onboard(demo_vnfd())
        _, op, hdrs = self.call("POST", "/v0/deployments", "/v0/deployments",
                                {"name": "oa1", "vnfd": "oa-demo"}, expect=202,
                                headers={"Client-Transaction-Id": "oa-2"})
        self.assertEqual(hdrs["Location"], "/v0/operations/" + op["id"])
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        self.call("GET", "/v0/operations/" + op["id"], "/v0/operations/{id}", expect=200)
        self.call("GET", "/v0/operations?deployment=oa1", "/v0/operations", expect=200)
        self.call("GET", "/v0/deployments", "/v0/deployments", expect=200)
        _, dep, _ = self.call("GET", "/v0/deployments/oa1", "/v0/deployments/{id}", expect=200)
        self.assertEqual(len(dep["vis"]), 1)
        self.call("POST", "/v0/deployments", "/v0/deployments",
                  {"name": "oa1", "vnfd": "oa-demo"}, expect=409)
        self.call("POST", "/v0/deployments", "/v0/deployments",
                  {"name": "oa2", "vnfd": "nope"}, expect=404)
        # the rule fires on a pushed value and records a decision
        self.call("POST", "/v0/deployments/oa1/metrics", "/v0/deployments/{id}/metrics",
                  {"values": {"load": 9}}, expect=202)
        self.call("POST", "/v0/deployments/oa1/metrics", "/v0/deployments/{id}/metrics",
                  {"values": {"alive": 1}}, expect=400)
        self.call("POST", "/v0/deployments/oa1/metrics", "/v0/deployments/{id}/metrics",
                  {"values": {"nope": 1}}, expect=404)
        decisions = wait_for(lambda: [d for d in self.d.get(
            "/v0/decisions?deployment=oa1")[1]["decisions"] if d["state"] != "running"],
            20, 0.1, "a finished decision")
        self.call("GET", "/v0/decisions?deployment=oa1", "/v0/decisions", expect=200)
        self.call("GET", "/v0/decisions/" + decisions[0]["id"], "/v0/decisions/{id}", expect=200)

        def probed():
            mon = self.d.get("/v0/deployments/oa1/monitoring")[1]["metrics"]
            return "alive" in mon and all(s["up"] is not None for s in mon["alive"]["vis"])
        wait_for(probed, 20, 0.1, "the TCP probe")
        _, mon, _ = self.call("GET", "/v0/deployments/oa1/monitoring",
                              "/v0/deployments/{id}/monitoring", expect=200)
        self.assertEqual(mon["rule_states"][0]["name"], "hot")
        _, hist, _ = self.call("GET", "/v0/deployments/oa1/metrics",
                               "/v0/deployments/{id}/metrics", expect=200)
        self.assertEqual([v for _, v in hist["metrics"]["load"]["vis"][0]["history"]], [9])
        self.call("GET", "/v0/deployments/oa1/metrics?since=x", "/v0/deployments/{id}/metrics",
                  expect=400)
        self.call("PUT", "/v0/deployments/oa1/rules", "/v0/deployments/{id}/rules",
                  {"rules": []}, expect=200)
        self.call("PUT", "/v0/deployments/oa1/rules", "/v0/deployments/{id}/rules",
                  {"rules": [{"name": "x"}]}, expect=400)
        # horizontal and vertical scaling, heal, undeploy
        _, op, _ = self.call("POST", "/v0/deployments/oa1/scale", "/v0/deployments/{id}/scale",
                             {"vdu": "web", "delta": 1}, expect=202)
        self.d.wait_op(op["id"])
        _, op, _ = self.call("POST", "/v0/deployments/oa1/resize", "/v0/deployments/{id}/resize",
                             {"vdu": "web", "memory_mb": 96}, expect=202)
        self.d.wait_op(op["id"])
        self.call("POST", "/v0/deployments/oa1/heal", "/v0/deployments/{id}/heal", expect=409)
        _, op, _ = self.call("POST", "/v0/deployments/oa1/heal", "/v0/deployments/{id}/heal",
                             {"vi": "oa1/web/0"}, expect=202)
        self.d.wait_op(op["id"])
        self.call("GET", "/v0/deployments/oa1", "/v0/deployments/{id}", expect=200)
        self.call("GET", "/v0/logs?deployment=oa1&tail=1&limit=20", "/v0/logs", expect=200)
        _, op, _ = self.call("DELETE", "/v0/deployments/oa1", "/v0/deployments/{id}",
                             expect=202)
        self.d.wait_op(op["id"])
        self.call("GET", "/v0/operations/" + op["id"], "/v0/operations/{id}", expect=200)
        self.call("GET", "/v0/deployments/oa1", "/v0/deployments/{id}", expect=404)

    def test_event_stream(self):
        route = operation(self.spec, "GET", "/v0/events")
        req = urllib.request.Request(self.d.url + "/v0/events?after=0&category=audit",
                                     headers={"Authorization": "Bearer " + self.d.token})
        self.d.ok("POST", "/v0/tenants", {"id": "oa-events"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertIn(r.headers["Content-Type"], route["responses"]["200"]["content"])
            lines, deadline = [], time.time() + 10
            while not any(l.startswith("data: ") for l in lines) and time.time() < deadline:
                lines.append(r.readline().decode().rstrip("\n"))
        data = [l for l in lines if l.startswith("data: ")]
        self.assertTrue(data, lines)
        self.assertIn("event: audit", lines)
        rec = json.loads(data[0][len("data: "):])
        self.assertEqual(validate(self.spec, rec, {"$ref": "#/components/schemas/LogRecord"}),
                         [])
        self.assertIn("id: %d" % rec["seq"], lines)
        self.call("GET", "/v0/events?after=x", "/v0/events", expect=400)


if __name__ == "__main__":
    unittest.main()


class OpenApiFedAnswersTest(unittest.TestCase):
    """The federation's routes on a real cloud VNFM with a branch manager
    joined (plain HTTP, --fed-insecure: the WAN's TLS is test_fed's): their
    answers are documented and validate."""

    call = OpenApiAnswersTest.call

    @classmethod
    def setUpClass(cls):
        cls.spec = load_spec()
        cls.d = Daemon("--site-driver", "sim", role="cloud", site="cloud").start()
        cls.b = None
        try:
            tok = cls.d.ok("POST", "/v0/join-tokens", {"site": "oab"}, expect=(201,))["token"]
            cls.b = Daemon("--cloud-url", cls.d.url, "--join-token", tok, "--site-driver", "sim",
                           "--fed-insecure", role="local", site="oab").start()
            wait_for(lambda: [m for m in cls.d.get("/v0/managers")[1]["managers"]
                              if m["site"] == "oab" and m["state"] == "active"], 10, 0.1,
                     "the branch active")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for d in (cls.b, cls.d):
            if d:
                d.cleanup()

    def test_federation_answers(self):
        _, ms, _ = self.call("GET", "/v0/managers", "/v0/managers", expect=200)
        [m] = [m for m in ms["managers"] if m["site"] == "oab"]
        self.call("GET", "/v0/managers/" + m["id"], "/v0/managers/{id}", expect=200)
        self.call("GET", "/v0/managers/mgr-nope", "/v0/managers/{id}", expect=404)
        self.call("GET", "/v0/managers", "/v0/managers", token=None, expect=401)
        self.call("POST", "/v0/managers/%s/report" % m["id"], "/v0/managers/{id}/report",
                  expect=202)
        _, tok, _ = self.call("POST", "/v0/join-tokens", "/v0/join-tokens",
                              {"site": "oac", "ttl_s": 60}, expect=201)
        self.call("POST", "/v0/join-tokens", "/v0/join-tokens", {"site": "oac", "nope": 1},
                  expect=400)
        _, toks, _ = self.call("GET", "/v0/join-tokens", "/v0/join-tokens", expect=200)
        self.assertTrue(toks["join_tokens"])
        self.call("DELETE", "/v0/join-tokens/" + tok["id"], "/v0/join-tokens/{id}", expect=204)
        self.call("DELETE", "/v0/join-tokens/" + tok["id"], "/v0/join-tokens/{id}", expect=404)
        for what in ("managers", "pool"):
            route = "/v0/sites/{id}/" + what
            _, pol, _ = self.call("GET", "/v0/sites/oab/" + what, route, expect=200)
            self.call("GET", "/v0/sites/nope/" + what, route, expect=404)
        self.call("DELETE", "/v0/managers/mgr-nope", "/v0/managers/{id}", expect=404)

    def test_policy_and_owner_answers(self):
        [m] = [m for m in self.d.get("/v0/managers")[1]["managers"] if m["site"] == "oab"]
        # thresholds no load of this test reaches (a decision would start a cooldown)
        route, pol = "/v0/sites/{id}/managers", {"active": 1, "max": 2, "overload": 80,
                                                 "underload": 0.2, "relative": {"within_pct": 10}}
        _, got, _ = self.call("PUT", "/v0/sites/oab/managers", route, pol, expect=200)
        self.assertEqual(got["policy"]["max"], 2)
        self.assertEqual([x["id"] for x in got["managers"]], [m["id"]])
        self.call("PUT", "/v0/sites/oab/managers", route, {"overload": 0.1, "underload": 0.2},
                  expect=400)
        self.call("GET", "/v0/sites/oab/managers", route, expect=200)
        route = "/v0/managers/{id}/policy"
        _, v, _ = self.call("GET", "/v0/managers/%s/policy" % m["id"], route, expect=200)
        self.assertIsNone(v["policy"])
        _, v, _ = self.call("PUT", "/v0/managers/%s/policy" % m["id"], route,
                            {"overload": 70, "rise": {"peers": 1, "above": 50, "to": 90}},
                            expect=200)
        self.assertEqual(v["effective"]["overload"], 70)
        self.call("PUT", "/v0/managers/%s/policy" % m["id"], route, {"active": 2}, expect=400)
        # the rules' owner, at the branch that runs the deployment
        self.b.onboard(demo_vnfd("oa-own"))
        op = self.b.ok("POST", "/v0/deployments", {"name": "oa-own", "vnfd": "oa-own"},
                       expect=(202,))
        self.assertEqual(self.b.wait_op(op["id"])["state"], "completed")
        route = "/v0/deployments/{id}/rules-owner"
        d, self.d = self.d, self.b
        try:
            _, o, _ = self.call("PUT", "/v0/deployments/oa-own/rules-owner", route,
                                {"owner": "cloud"}, expect=200)
        finally:
            self.d = d
        self.assertEqual(o["rules_owner"], "cloud")
        # the manager and the site as the policies judge them, with the site's load
        route, pool = "/v0/sites/{id}/pool", {"overload": 0.9, "underload": 0.1, "cooldown_s": 30,
                                               "move_back": {"after_s": 60}}
        req = operation(self.spec, "PUT", route)["requestBody"]["content"]["application/json"]
        self.assertEqual(validate(self.spec, pool, req["schema"]), [])
        self.assertTrue(validate(self.spec, dict(pool, nope=1), req["schema"]))
        _, v, _ = self.call("PUT", "/v0/sites/oab/pool", route, pool, expect=200)
        self.assertEqual(v["policy"]["move_back"], {"after_s": 60})
        wait_for(lambda: self.d.get("/v0/sites/oab/pool")[1].get("judged"), 10, 0.1,
                 "the pool judged at a report")
        self.call("GET", "/v0/sites/oab/pool", route, expect=200)
        wait_for(lambda: self.d.get("/v0/managers/" + m["id"])[1].get("site_load"), 10, 0.1,
                 "the site's load in the manager's view")
        _, ms, _ = self.call("GET", "/v0/managers", "/v0/managers", expect=200)
        [v] = [x for x in ms["managers"] if x["id"] == m["id"]]
        self.assertEqual(v["judged"]["cooldown_left_s"], 0)  # no decision yet
        _, v, _ = self.call("GET", "/v0/managers/" + m["id"], "/v0/managers/{id}", expect=200)
        self.assertIn("oa-own", v["deployment_ids"])
        self.assertIn("oa-own", v["site_load"]["deployments"])
