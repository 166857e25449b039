"""REST API: auth, tenants (incl. Table 3 as JSON), tokens and tenant
scoping, VNFD on-boarding, and every kind of bad input: the right 4xx with
the field named, the store unchanged, the daemon still serving."""
import json
import os
import unittest

from vnfm import DaemonTest, VNFDS


def demo_vnfd(**patch):
    with open(os.path.join(VNFDS, "demo-web.json")) as f:
        doc = json.load(f)
    doc.update(patch)
    return doc


class ApiTest(DaemonTest):

    def snapshot(self):
        """Everything a client can list, to prove bad input changed nothing."""
        out = {}
        for path in ("/v0/tenants", "/v0/vnfds", "/v0/deployments", "/v0/tokens",
                     "/v0/operations", "/v0/sites"):
            out[path] = self.d.get(path)[1]
        for site in out["/v0/sites"]["sites"]:
            site.pop("warm_vis", None)  # made in the background, whatever the requests
        return out

    def test_health_is_public_and_table5(self):
        status, doc, _ = self.d.get("/v0/health", token=None)
        self.assertEqual(status, 200)
        self.assertEqual(doc["code"], 2000)
        self.assertEqual(doc["message"], "Services running.")
        self.assertEqual(doc["vims"][0]["health"], "ok")

    def test_auth(self):
        self.assertError(self.d.get("/v0/tenants", token=None), 401, "unauthorized")
        self.assertError(self.d.get("/v0/tenants", token="wrong-token"), 401, "unauthorized")
        self.assertError(self.d.request("PUT", "/v0/health", {}), 405, "method-not-allowed")
        self.assertEqual(self.d.request("PUT", "/v0/deployments/x", {})[2]["Allow"], "GET, DELETE")
        self.assertError(self.d.get("/v0/nothing"), 404, "not-found")

    def test_tenant_table3_as_json(self):
        status, doc, hdrs = self.d.post("/v0/tenants/123", {
            "name": "xyz", "enabled": True, "description": "A description..."},
            headers={"Client-Transaction-Id": "123456"})
        self.assertEqual(status, 201, doc)
        self.assertEqual(hdrs["Client-Transaction-Id"], "123456")
        self.assertEqual(hdrs["Location"], "/v0/tenants/123")
        self.assertEqual(doc["name"], "xyz")
        self.assertEqual(doc["description"], "A description...")
        self.assertTrue(doc["external_tenant_id"].isdigit())
        self.assertTrue(doc["internal_tenant_id"].isdigit())
        self.assertError(self.d.post("/v0/tenants/123", {"name": "again"}), 409, "conflict")
        self.assertEqual(self.d.get("/v0/tenants/123")[1]["name"], "xyz")
        doc = self.d.ok("PUT", "/v0/tenants/123", {"enabled": False})
        self.assertFalse(doc["enabled"])
        self.d.ok("DELETE", "/v0/tenants/123")
        self.assertError(self.d.get("/v0/tenants/123"), 404, "not-found", obj="tenant/123")

    def test_tenant_tokens_are_scoped(self):
        self.d.ok("POST", "/v0/tenants", {"id": "acme"})
        self.d.ok("POST", "/v0/tenants", {"id": "other"})
        tok = self.d.ok("POST", "/v0/tenants/acme/tokens", {"description": "ci"})
        self.assertTrue(tok["token"].startswith("vnfm_"))
        secret = tok["token"]
        listed = self.d.get("/v0/tokens")[1]["tokens"]
        self.assertIn(tok["id"], [t["id"] for t in listed])
        self.assertNotIn("token", json.dumps(listed))
        self.assertNotIn("_hash", json.dumps(listed))
        # a tenant sees itself only, and nothing admin-only
        ids = [t["id"] for t in self.d.get("/v0/tenants", token=secret)[1]["tenants"]]
        self.assertEqual(ids, ["acme"])
        self.assertError(self.d.get("/v0/tenants/other", token=secret), 404)
        self.assertError(self.d.get("/v0/tokens", token=secret), 403, "forbidden")
        self.assertError(self.d.post("/v0/tenants", {"id": "x"}, token=secret), 403)
        # a VNFD on-boarded with a tenant token is that tenant's
        rec = self.d.onboard(demo_vnfd(id="acme-demo"), token=secret)
        self.assertEqual(rec["tenant"], "acme")
        other = self.d.ok("POST", "/v0/tenants/other/tokens")["token"]
        self.assertError(self.d.get("/v0/vnfds/acme-demo", token=other), 404)
        self.assertNotIn("acme-demo",
                         [v["id"] for v in self.d.get("/v0/vnfds", token=other)[1]["vnfds"]])
        self.assertError(self.d.post("/v0/deployments", {"name": "x", "vnfd": "acme-demo",
                                                         "tenant": "acme"}, token=other),
                         403, field="tenant")
        # deleting a tenant that still has things is refused, naming them
        self.assertError(self.d.delete("/v0/tenants/acme"), 409, "conflict")
        self.d.ok("DELETE", "/v0/vnfds/acme-demo", token=secret)
        self.d.ok("DELETE", "/v0/tokens/" + tok["id"])
        self.assertError(self.d.get("/v0/tenants", token=secret), 401)
        self.d.ok("DELETE", "/v0/tenants/acme")
        # a disabled tenant's tokens stop working
        self.d.ok("PUT", "/v0/tenants/other", {"enabled": False})
        self.assertError(self.d.get("/v0/vnfds", token=other), 403)

    def test_vnfd_onboarding(self):
        rec = self.d.onboard(demo_vnfd(id="demo-onb"))
        self.assertEqual(rec["id"], "demo-onb")
        self.assertIsNone(rec["tenant"])
        self.assertEqual(rec["vdus"], ["web"])
        full = self.d.get("/v0/vnfds/demo-onb")[1]
        self.assertEqual(full["descriptor"]["id"], "demo-onb")
        summary = [v for v in self.d.get("/v0/vnfds")[1]["vnfds"] if v["id"] == "demo-onb"][0]
        self.assertNotIn("descriptor", summary)
        self.assertError(self.d.post("/v0/vnfds", demo_vnfd(id="demo-onb")), 409, field="id")
        self.d.ok("DELETE", "/v0/vnfds/demo-onb")
        self.assertError(self.d.delete("/v0/vnfds/demo-onb"), 404)

    def test_bad_input_changes_nothing(self):
        before = self.snapshot()
        vdu = demo_vnfd()["vdus"][0]
        cases = [
            # (method, path, raw body or object, status, reason, field)
            ("POST", "/v0/tenants", b'{"id": "x",', 400, "bad-json", None),
            ("POST", "/v0/tenants", b'[1,2]', 400, "bad-json", None),
            ("POST", "/v0/tenants", b'', 400, "bad-json", None),
            ("POST", "/v0/tenants", {"id": "x", "colour": "red"}, 400, "unknown-field", "colour"),
            ("POST", "/v0/tenants", {"name": "x"}, 400, "missing-field", "id"),
            ("POST", "/v0/tenants", {"id": 5}, 400, "invalid-type", "id"),
            ("POST", "/v0/tenants", {"id": "a" * 65}, 400, "invalid-value", "id"),
            ("POST", "/v0/tenants", {"id": "x", "description": "d" * 5000}, 400,
             "invalid-value", "description"),
            ("POST", "/v0/tenants", {"id": "bad/slash"}, 400, "invalid-value", "id"),
            ("POST", "/v0/vnfds", demo_vnfd(vdus=[]), 400, "invalid-value", "vdus"),
            ("POST", "/v0/vnfds", demo_vnfd(vdus=[dict(vdu, vcpu="1")]), 400, "invalid-type",
             "vdus[0].vcpu"),
            ("POST", "/v0/vnfds", demo_vnfd(vdus=[dict(vdu, scaling={"min": 4, "max": 2})]),
             400, "invalid-value", "vdus[0].scaling"),
            ("POST", "/v0/vnfds", demo_vnfd(vdus=[dict(vdu, command=["x", "{{nope}}"])]),
             400, "invalid-value", "vdus[0].command[1]"),
            ("POST", "/v0/deployments", {"name": "d1", "vnfd": "no-such"}, 404, "not-found",
             "vnfd"),
            ("POST", "/v0/deployments", {"name": "d1", "vnfd": "demo-web", "tenant": "ghost"},
             404, "not-found", "tenant"),
            ("POST", "/v0/deployments", {"name": "d1", "vnfd": "demo-web", "site": "mars"},
             404, "not-found", "site"),
            ("POST", "/v0/deployments", {"name": "d1", "vnfd": "demo-web",
                                         "params": {"nope": 1}}, 400, "unknown-field",
             "params.nope"),
            ("POST", "/v0/deployments", {"name": "d1", "vnfd": "demo-web",
                                         "instances": {"web": 99}}, 400, "invalid-value",
             "instances.web"),
            ("POST", "/v0/deployments", {"name": "d1"}, 400, "missing-field", "vnfd"),
            ("POST", "/v0/deployments/none/heal", {}, 404, "not-found", None),
            ("POST", "/v0/deployments/none/scale", {"vdu": "web", "count": 2}, 404,
             "not-found", None),
            ("DELETE", "/v0/deployments/none", None, 404, "not-found", None),
            ("PUT", "/v0/sites/local", {"capacity": {"vcpu": -1}}, 400, "invalid-value",
             "capacity.vcpu"),
            ("GET", "/v0/operations?limit=abc", None, 400, "invalid-value", "limit"),
            ("GET", "/v0/logs?since=yesterday", None, 400, "invalid-value", "since"),
            ("GET", "/v0/deployments?colour=red", None, 400, "unknown-field", "colour"),
            ("POST", "/v0/deployments", {"name": "d1", "vnfd": "demo-web",
                                         "params": {"p%d" % i: 1 for i in range(65)}}, 400,
             "invalid-value", "params"),
            ("POST", "/v0/deployments/none/metrics", {"values": {}}, 400, "invalid-value",
             "values"),
            ("POST", "/v0/deployments/none/heal", {"policy": "pray"}, 400, "invalid-value",
             "policy"),
        ]
        self.d.onboard("demo-web")
        before = self.snapshot()
        for method, path, body, status, reason, field in cases:
            with self.subTest(path=path, body=str(body)[:60]):
                raw = body if isinstance(body, bytes) else None
                resp = self.d.request(method, path, None if raw is not None else body, raw=raw)
                self.assertError(resp, status, reason, field)
        self.assertError(self.d.request("POST", "/v0/tenants", raw=b"<tenant/>",
                                        headers={"Content-Type": "text/plain"}),
                         415, "unsupported-media-type")
        self.assertError(self.d.request("POST", "/v0/tenants", raw=b"x" * (2 << 20)), 413,
                         "too-large")
        self.assertError(self.d.post("/v0/deployments", {"name": "d1", "vnfd": "demo-web"},
                                     headers={"Callback": "ftp://x"}), 400, field="Callback")
        after = self.snapshot()
        for path in before:
            if path != "/v0/operations":
                self.assertEqual(before[path], after[path], path)
        self.assertEqual(before["/v0/operations"]["operations"],
                         after["/v0/operations"]["operations"])
        self.assertEqual(self.d.get("/v0/health", token=None)[0], 200)

    def test_capacity_refused(self):
        self.d.onboard("demo-web")
        self.d.ok("PUT", "/v0/sites/local", {"capacity": {"vcpu": 0.25}})
        try:
            doc = self.assertError(self.d.post("/v0/deployments",
                                               {"name": "big", "vnfd": "demo-web"}),
                                   409, "insufficient-capacity", obj="site/local")
            self.assertIn("vCPU", doc["message"])
            self.assertError(self.d.get("/v0/deployments/big"), 404)
        finally:
            self.d.ok("PUT", "/v0/sites/local", {"capacity": {"vcpu": 8}})

    def test_logs_and_audit(self):
        self.d.ok("POST", "/v0/tenants", {"id": "logged"})
        logs = self.d.get("/v0/logs?category=audit&object=logged")[1]["logs"]
        self.assertTrue(any("tenant logged created" in l["message"] for l in logs), logs)
        # (audit records only: the manager logs on its own meanwhile, e.g. its pools'
        # resizes)
        tail = self.d.get("/v0/logs?category=audit&tail=1&limit=1")[1]["logs"]
        self.assertEqual(len(tail), 1)
        seq = tail[0]["seq"]
        self.assertEqual(self.d.get("/v0/logs?category=audit&after=%d" % seq)[1]["logs"], [])

    def test_deployments_paged(self):
        """limit and offset page the deployments in the order they were made (the
        console reads them a page at a time); without them, all."""
        self.d.onboard("demo-web")
        for i in range(3):  # SOL003 instances not instantiated yet: records without VIs
            self.d.ok("POST", "/vnflcm/v1/vnf_instances", {"vnfdId": "demo-web",
                                                             "vnfInstanceName": "page%d" % i})
        every = [d["id"] for d in self.d.get("/v0/deployments")[1]["deployments"]]
        self.assertEqual(len(every), 3)
        page = self.d.get("/v0/deployments?limit=2&offset=1")[1]["deployments"]
        self.assertEqual([d["id"] for d in page], every[1:3])
        self.assertEqual(self.d.get("/v0/deployments?limit=2&offset=3")[1]["deployments"], [])
        self.assertError(self.d.get("/v0/deployments?limit=-1"), 400, "invalid-value", "limit")
        self.assertError(self.d.get("/v0/deployments?offset=x"), 400, "invalid-value", "offset")


if __name__ == "__main__":
    unittest.main()
