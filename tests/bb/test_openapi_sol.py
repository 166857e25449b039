"""docs/api/sol.yaml against the code (issue 15 item 10): the route tables
of src/sol003/sol_http.c (mounted at /vnflcm/v1 and /vnflcm/v2, its
version table at /vnflcm) and src/sol003/pkgm_http.c (/vnfpkgm/v1,
/vnfpkgm) and the document list the same (method, path) pairs; and real
answers of a running vnfmd, from api_versions to an instantiated VNF, its
operation occurrences, subscriptions and an on-boarded package, validate
against the documented schemas (test_openapi.validate: required members,
no undocumented member, types, enums)."""
import os
import re
import unittest

import yaml  # Debian python3-yaml

from vnfm import ROOT, SCRATCH, DaemonTest, wait_for
from test_openapi import response, validate
from test_sol003 import Listener, SolClient, sol_vnfd
from test_vnfpkgm import PKGM, sample

SPEC_FILE = os.path.join(ROOT, "docs", "api", "sol.yaml")
SRC = os.path.join(ROOT, "src", "sol003")


def table(text, name):
    """(METHOD, pattern) of the route table name[] in a C source."""
    body = text[text.index("const struct route %s[] = {" % name):]
    body = body[:body.index("\n};")]
    out = set()
    for m in re.finditer(r'READ\("([^"]+)"', body):
        out.add(("GET", m.group(1)))
    for m in re.finditer(r'WRITE\("(\w+)", "([^"]+)"', body):
        out.add((m.group(1), m.group(2)))
    for m in re.finditer(r'NOTSUPP\("([^"]+)"', body):
        out.add(("POST", m.group(1)))
    for m in re.finditer(r'\.method = "(\w+)",\s*\.pattern = "([^"]+)"', body):
        out.add((m.group(1), m.group(2)))
    # "{x*}", the rest of the path (several segments), is OpenAPI's "{x}"
    return {(m, re.sub(r"\{(\w+)\*\}", r"{\1}", p)) for m, p in out}


def code_routes():
    with open(os.path.join(SRC, "sol_http.c")) as f:
        sol = f.read()
    with open(os.path.join(SRC, "pkgm_http.c")) as f:
        pkgm = f.read()
    out = set()
    for prefix in ("/vnflcm/v1", "/vnflcm/v2"):
        out |= {(m, prefix + p) for m, p in table(sol, "sol_routes")}
    out |= {(m, "/vnflcm" + p) for m, p in table(sol, "version_routes")}
    out |= {(m, "/vnfpkgm/v1" + p) for m, p in table(pkgm, "pkgm_routes")}
    out |= {(m, "/vnfpkgm" + p) for m, p in table(pkgm, "version_routes")}
    return out


def spec_routes(spec):
    return {(m.upper(), p) for p, item in spec["paths"].items() for m in item
            if m in ("get", "put", "post", "delete", "patch")}


def load_spec():
    with open(SPEC_FILE) as f:
        return yaml.safe_load(f)


class SolDocumentTest(unittest.TestCase):
    def test_every_route_is_documented_and_nothing_else(self):
        spec, code = load_spec(), code_routes()
        self.assertEqual(spec["openapi"], "3.0.3")
        self.assertGreater(len(code), 50)  # the parser read the tables
        self.assertEqual(sorted(code - spec_routes(spec)), [], "routes not documented")
        self.assertEqual(sorted(spec_routes(spec) - code), [], "documented, no such route")


class SolAnswersTest(DaemonTest):
    daemon_args = ("--package-scripts", os.path.join(SCRATCH, "package-scripts-%d" % os.getpid()),
                   "--package-unsigned")

    def check(self, method, path, doc, status, prefix=""):
        spec = load_spec()
        resp = response(spec, method, prefix + path, status)
        schema = resp["content"]["application/json"]["schema"]
        errs = validate(spec, doc, schema)
        self.assertEqual(errs, [], "%s %s%s" % (method, prefix, path))

    def test_lifecycle_answers(self):
        d = self.d
        d.onboard(sol_vnfd())
        hook = Listener()
        self.addCleanup(hook.close)
        for prefix, hdr in (("/vnflcm/v1", {"Version": "1.3.0"}),
                            ("/vnflcm/v2", {"Version": "2.0.0"})):
            sol = SolClient(d, prefix, hdr)
            self.check("GET", "/api_versions", sol.ok("GET", "/api_versions")[0], 200, prefix)
            sub, _ = sol.ok("POST", "/subscriptions", {"callbackUri": hook.url}, expect=(201,))
            self.check("POST", "/subscriptions", sub, 201, prefix)
            self.check("GET", "/subscriptions", sol.ok("GET", "/subscriptions")[0], 200, prefix)
            inst = sol.create()
            self.check("POST", "/vnf_instances", inst, 201, prefix)
            occ = sol.run(inst["id"], "instantiate", {"flavourId": "default"})
            self.check("GET", "/vnf_lcm_op_occs/{id}", occ, 200, prefix)
            for q in ("", "?all_fields"):
                self.check("GET", "/vnf_instances", sol.ok("GET", "/vnf_instances" + q)[0], 200,
                           prefix)
                self.check("GET", "/vnf_lcm_op_occs", sol.ok("GET", "/vnf_lcm_op_occs" + q)[0],
                           200, prefix)
            self.check("GET", "/vnf_instances/{id}", sol.instance(inst["id"]), 200, prefix)
            sol.run(inst["id"], "terminate", {"terminationType": "FORCEFUL"})
            sol.ok("DELETE", "/vnf_instances/" + inst["id"], expect=(204,))
            sol.ok("DELETE", "/subscriptions/" + sub["id"], expect=(204,))
            status, problem, _ = sol.call("GET", "/vnf_instances/nope")
            spec = load_spec()
            schema = response(spec, "GET", prefix + "/vnf_instances/{id}", "default")
            self.assertEqual(validate(spec, problem,
                                      schema["content"]["application/problem+json"]["schema"]),
                             [])

    def test_package_answers(self):
        d = self.d
        st, pkg, _ = d.post(PKGM + "/vnf_packages", {})
        self.check("POST", "/vnf_packages", pkg, 201, PKGM)
        d.request("PUT", "%s/vnf_packages/%s/package_content" % (PKGM, pkg["id"]),
                  raw=sample("nginx-lb"), headers={"Content-Type": "application/zip"})
        wait_for(lambda: d.get("%s/vnf_packages/%s" % (PKGM, pkg["id"]))[1]["onboardingState"]
                 == "ONBOARDED", 60)
        self.check("GET", "/vnf_packages/{id}", d.get("%s/vnf_packages/%s" % (PKGM, pkg["id"]))[1],
                   200, PKGM)
        for q in ("", "?all_fields"):
            self.check("GET", "/vnf_packages", d.get(PKGM + "/vnf_packages" + q)[1], 200, PKGM)
        self.check("GET", "/api_versions", d.get(PKGM + "/api_versions")[1], 200, PKGM)


if __name__ == "__main__":
    unittest.main()
