"""The bad-input sweep (issue 10): every route of the API, /v0 from
docs/api/openapi.yaml and SOL003 from docs/SOL003.md, gets malformed,
oversized, deeply nested, invalid UTF-8 and NUL-laden bodies (JSON, and XML
with XXE and entity expansion where the route takes XML), path traversal in
its ids and bad query strings. Each is answered at once with a 4xx and the
API's own error body (the native error or a ProblemDetails), the store
is unchanged and the daemon stays up."""
import http.client
import json
import os
import re
import unittest
import xml.etree.ElementTree as ET

import yaml

from vnfm import ROOT, DaemonTest
from test_deploy import demo

METHODS = ("get", "post", "put", "patch", "delete")
SOL = "/vnflcm/v1"
BIG = 2 * 1024 * 1024  # over the 1 MiB body limit
DEEP = 100000


def v0_routes():
    with open(os.path.join(ROOT, "docs", "api", "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    out = []
    for path, item in spec["paths"].items():
        for m, op in item.items():
            if m in METHODS:
                out.append((m.upper(), path, "requestBody" in op))
    return out


def sol_routes():
    """The resources table of docs/SOL003.md: | METHOD | `/path`, `name` | ..."""
    out = []
    with open(os.path.join(ROOT, "docs", "SOL003.md")) as f:
        for line in f:
            m = re.match(r"\| (GET|POST|PUT|PATCH|DELETE) \| (.*?) \|", line)
            if not m:
                continue
            base = None
            for p in re.findall(r"`([^`]+)`", m.group(2)):
                if p.startswith("/vnflcm"):
                    continue
                if p.startswith("/"):
                    base = p
                else:  # a sibling named without its parent
                    p = base.rsplit("/", 1)[0] + "/" + p
                out.append((m.group(1), p, m.group(1) in ("POST", "PUT", "PATCH")))
    return out


def nested_json(depth):
    return ('{"a":' * depth + "1" + "}" * depth).encode()


XXE = (b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<tenant><name>&x;</name><description>&x;</description></tenant>')
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
          + b"".join(b'<!ENTITY %s "%s">' % (chr(98 + i).encode(), (b"&%s;" % chr(97 + i).encode()) * 10)
                     for i in range(8))
          + b']><tenant><name>&i;</name></tenant>')


class BadInputSweepTest(DaemonTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        d.onboard(demo("bi-vnfd"))
        d.deploy("bi-dep", "bi-vnfd")
        cls.ids = {
            "tenants": "default", "tokens": d.ok("POST", "/v0/tenants/default/tokens")["id"],
            "vnfds": "bi-vnfd", "sites": "local", "deployments": "bi-dep",
            "operations": d.get("/v0/operations?deployment=bi-dep")[1]["operations"][0]["id"],
            "vnf_instances": "bi-dep", "vnf_lcm_op_occs": None, "subscriptions": "none",
            "decisions": "none"}
        cls.ids["vnf_lcm_op_occs"] = cls.ids["operations"]

    def setUp(self):
        pass

    def tearDown(self):
        pass  # the class's deployment stays for every route

    # ---- requests ----

    def send(self, method, path, body=None, ctype="application/json", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            hdrs = {"Authorization": "Bearer " + self.d.token}
            if path.startswith(SOL):
                hdrs["Version"] = "1.3.0"
            if body is not None:
                hdrs["Content-Type"] = ctype
                hdrs["Content-Length"] = str(len(body))
            hdrs.update(headers or {})
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def state(self):
        d = self.d
        deps = d.get("/v0/deployments")[1]["deployments"]
        return (sorted(t["id"] for t in d.get("/v0/tenants")[1]["tenants"]),
                sorted(v["id"] for v in d.get("/v0/vnfds")[1]["vnfds"]),
                sorted((x["id"], x["status"], x.get("operation")) for x in deps),
                len(d.get("/v0/tokens")[1]["tokens"]),
                len(d.get("/v0/operations?limit=1000")[1]["operations"]),
                d.request("GET", SOL + "/subscriptions", headers={"Version": "1.3.0"})[1])

    def assert_error(self, where, resp, want=None):
        """A 4xx (want, unless the route is not supported at all: 422) with
        the API's error body."""
        status, hdrs, raw = resp
        hdrs = {k.lower(): v for k, v in hdrs.items()}
        self.assertTrue(400 <= status < 500, "%s: %s %s" % (where, status, raw[:300]))
        if want and status != 422:
            self.assertEqual(status, want, "%s: %s" % (where, raw[:300]))
        ctype = hdrs.get("content-type", "")
        if ctype.startswith("application/xml"):
            root = ET.fromstring(raw)
            self.assertTrue(root.findtext("error") and root.findtext("message"), where)
            return
        self.assertTrue(ctype.startswith(("application/json", "application/problem+json")),
                        "%s: %s %s %r" % (where, status, ctype, raw[:200]))
        doc = json.loads(raw)
        self.assertEqual(doc.get("status"), status, "%s: %s" % (where, doc))
        if where.split()[1].startswith(SOL):
            self.assertTrue(doc.get("detail"), "%s: %s" % (where, doc))
        else:
            self.assertTrue(doc.get("error") and doc.get("message"), "%s: %s" % (where, doc))

    # ---- the cases ----

    def concrete(self, path):
        """path with its parameters replaced by ids that exist."""
        def sub(m):
            parent = path[:m.start()].rstrip("/").rsplit("/", 1)[-1]
            return self.ids.get(parent) or "none"
        return re.sub(r"\{\w+\}", sub, path)

    def body_cases(self, xml):
        cases = [("malformed JSON", b'{"name": ', "application/json", 400),
                 ("not an object", b"[1, 2]", "application/json", 400),
                 ("oversized", b'{"a": "' + b"x" * BIG + b'"}', "application/json", 413),
                 ("deeply nested", nested_json(DEEP), "application/json", 400),
                 ("nested arrays", b"[" * DEEP + b"]" * DEEP, "application/json", 400),
                 ("invalid UTF-8", b'{"name": "\xff\xfe\xc3"}', "application/json", 400),
                 ("escaped NUL", b'{"name": "a\\u0000b"}', "application/json", 400),
                 ("raw NUL", b'{"name": "a\x00b"}', "application/json", 400),
                 ("duplicate member", b'{"name": "a", "name": "b"}', "application/json", 400)]
        if xml:
            cases += [("malformed XML", b"<tenant><name>x</tenant>", "application/xml", 400),
                      ("XXE", XXE, "application/xml", None),
                      ("entity expansion", LAUGHS, "application/xml", None),
                      ("deep XML", b"<a>" * DEEP + b"</a>" * DEEP, "application/xml", 400),
                      ("invalid UTF-8 XML", b"<tenant><name>\xff\xfe</name></tenant>",
                       "application/xml", 400)]
        return cases

    def sweep(self, routes, prefix="", xml=False):
        self.assertGreater(len(routes), 10)
        for method, path, has_body in routes:
            full = prefix + path
            with self.subTest(route="%s %s" % (method, full)):
                before = self.state()
                if re.search(r"\{\w+\}", path):
                    for bad in ("..%2F..%2F..%2Fetc%2Fpasswd", "..", "%2e%2e%2f%2e%2e",
                                "a%2Fb", "%2F", "." * 300):
                        p = re.sub(r"\{\w+\}", bad, full)
                        where = "%s %s (path)" % (method, p)
                        self.assert_error(where, self.send(method, p, b"{}" if has_body
                                                           else None))
                if has_body:
                    target = self.concrete(full)
                    for what, body, ctype, want in self.body_cases(xml):
                        resp = self.send(method, target, body, ctype)
                        self.assert_error("%s %s (%s)" % (method, target, what), resp, want)
                        self.assertNotIn(b"root:", resp[2], "XXE: a file leaked")
                self.assertEqual(self.state(), before, "%s %s changed the store" %
                                 (method, full))
                self.assertEqual(self.d.get("/v0/health", token=None)[0], 200)

    def test_v0_routes(self):
        self.sweep(v0_routes(), xml=True)

    def test_sol003_routes(self):
        self.sweep(sol_routes(), prefix=SOL)

    def test_bad_queries(self):
        """An unknown parameter, and a value that is not what it should be,
        on every read that takes parameters."""
        for method, path, _ in v0_routes():
            if method != "GET" or "{" in path or path in ("/v0/events", "/metrics"):
                continue
            with self.subTest(route=path):
                self.assert_error("GET %s?nonsense=1" % path,
                                  self.send("GET", path + "?nonsense=1"), 400)
        for q in ("limit=-1", "limit=99999999999", "limit=x", "since=yesterday",
                  "until=2020-13-45T99:00:00Z", "after=1e3", "tail=2", "limit="):
            self.assert_error("GET /v0/logs?" + q, self.send("GET", "/v0/logs?" + q), 400)
        q = SOL + "/vnf_instances?filter=(eq"
        self.assert_error("GET " + q, self.send("GET", q), 400)


if __name__ == "__main__":
    unittest.main()
