"""Scheduled operations in the cloud's decisions on branch managers (issue 12,
F25; docs/FEDERATION.md "Elastic managers"): a branch manager's reports
carry the operations scheduled on it (load.scheduled), and with the site
policy's hold_before_s a decision on a manager scheduled to run one within
that window is held, recorded with held_by naming the scheduled operation,
and taken once it has run. Real daemons: one cloud, one branch (simulated
VIs); the decision taken is one that fails at once (no room for the new
manager), so that no manager is started."""
import time

from vnfm import wait_for
from test_deploy import demo
from test_fed import OneSimBranch
from test_elastic import VNFS_ONLY, decision_in, decisions, when


class ElasticScheduleTest(OneSimBranch):
    def scheduled_in_report(self, sid):
        m = self.cloud.get("/v0/managers/" + self.mgr)[1]
        s = [x for x in (m.get("load") or {}).get("scheduled", []) if x["id"] == sid]
        return s[0] if s else None

    def test_a_scheduled_operation_holds_a_decision(self):
        cloud, b1 = self.cloud, self.b1
        # (no policy at the site yet: nothing to override)
        status, doc, _ = cloud.request("PUT", "/v0/managers/%s/policy" % self.mgr,
                                       {"overload": 2})
        self.assertEqual((status, doc["error"]), (409, "conflict"), doc)
        b1.onboard(demo("els-sim"))
        b1.deploy("es1", "els-sim")
        s = b1.ok("POST", "/v0/scheduled-operations",
                  {"deployment": "es1", "operation": "scale",
                   "params": {"vdu": "web", "count": 2}, "in_s": 8}, expect=(201,))
        # the branch's reports carry it
        rep = wait_for(lambda: self.scheduled_in_report(s["id"]), 10, 0.1, "load.scheduled")
        self.assertEqual((rep["operation"], rep["at"]), ("scale", s["at"]))
        # overloaded (one deployment weighs 1 > 0.5), but scheduled within hold_before_s: held
        pol = {"overload": 0.5, "for_reports": 2, "cooldown_s": 0, "max": 2,
               "weights": VNFS_ONLY, "hold_before_s": 60, "manager": {"vcpu": 64}}
        status, doc, _ = cloud.request("PUT", "/v0/sites/b1/managers", pol)
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["policy"]["hold_before_s"], 60)
        held = wait_for(lambda: decision_in(cloud, "held", self.mgr), 20, 0.1, "held")
        self.assertEqual(held["held_by"], s["id"])
        self.assertIn("hold_before_s", held["reason"])
        self.assertIn("scheduled to run scale", held["reason"])
        self.assertEqual(b1.get("/v0/scheduled-operations/" + s["id"])[1]["state"], "scheduled")
        self.assertIsNone(decision_in(cloud, "failed", self.mgr))
        # it runs at its time; the decision is taken after it (here: no room at the branch)
        started = wait_for(lambda: (lambda x: x if x["state"] == "started" else None)(
            b1.get("/v0/scheduled-operations/" + s["id"])[1]), 30, 0.1, "started")
        op = b1.wait_op(started["operation_id"])
        self.assertEqual(op["state"], "completed")
        d = wait_for(lambda: decision_in(cloud, "failed", self.mgr), 30, 0.1, "taken")
        self.assertIn("no room at site b1", d["error"])
        self.assertGreaterEqual(when(d["created"]), when(started["started"]))
        self.assertIsNone(self.scheduled_in_report(s["id"]))
        self.assertEqual(cloud.request("PUT", "/v0/sites/b1/managers", {"overload": 1000})[0],
                         200)
        # hold_before_s is checked as the other members of the policy
        self.assertEqual(cloud.request("PUT", "/v0/sites/b1/managers",
                                       {"overload": 1, "hold_before_s": -1})[1]["field"],
                         "hold_before_s")

    def test_b_per_manager_override(self):
        cloud = self.cloud
        path = "/v0/managers/%s/policy" % self.mgr
        site = {"overload": 1000, "underload": 0.1, "for_reports": 2, "cooldown_s": 0,
                "max": 2, "weights": VNFS_ONLY, "manager": {"vcpu": 64}}
        self.assertEqual(cloud.request("PUT", "/v0/sites/b1/managers", site)[0], 200)
        bad = [({"underload": 2000}, "underload"),  # not below the site's overload
               ({"overload": 0.05}, "underload"),  # not above the site's underload
               ({"for_reports": 2, "for_s": 3}, "for_s"),
               ({"lifecycle": "sometimes"}, "lifecycle"),
               ({"max": 3}, "max"),  # the site's, not a manager's
               ({"weights": {"vnfs": 1}}, "weights")]
        for body, field in bad:
            status, doc, _ = cloud.request("PUT", path, body)
            self.assertEqual((status, doc.get("field")), (400, field), (body, doc))
        self.assertEqual(cloud.request("PUT", "/v0/managers/nobody/policy", {})[0], 404)
        self.assertNotIn("policy", cloud.get("/v0/managers/" + self.mgr)[1])
        # overridden: judged with overload 0.5, the site keeps 1000
        t0 = time.time()
        status, doc, _ = cloud.request("PUT", path, {"overload": 0.5})
        self.assertEqual((status, doc["policy"]), (200, {"overload": 0.5}), doc)
        self.assertEqual(cloud.get("/v0/managers/" + self.mgr)[1]["policy"], {"overload": 0.5})
        d = wait_for(lambda: next((x for x in decisions(cloud, state="failed")
                                   if x["manager"] == self.mgr and when(x["created"]) >= t0),
                                  None), 30, 0.1, "judged with the override")
        self.assertEqual(d["thresholds"]["overload"], 0.5)
        self.assertIn("above overload 0.5", d["reason"])
        self.assertEqual(cloud.get("/v0/sites/b1/managers")[1]["policy"]["overload"], 1000)
        # cleared
        status, doc, _ = cloud.request("PUT", path, {})
        self.assertEqual((status, doc.get("policy")), (200, None), doc)
        self.assertNotIn("policy", cloud.get("/v0/managers/" + self.mgr)[1])
        self.assertEqual(cloud.request("PUT", "/v0/sites/b1/managers", {"overload": 1000})[0],
                         200)

    def test_c_anticipate(self):
        """A scheduled scale out that would overload the manager: a scale out now."""
        cloud, b1 = self.cloud, self.b1
        b1.onboard(demo("els-sim"))
        if b1.get("/v0/deployments/es3")[0] == 404:
            b1.deploy("es3", "els-sim")
        weights = dict(VNFS_ONLY, vnfs=0.1, vis=1, ops_running=0.2)
        site = {"overload": 100, "for_reports": 2, "cooldown_s": 0, "max": 2,
                "lifecycle": "ignore", "weights": weights, "manager": {"vcpu": 64}}
        self.assertEqual(cloud.request("PUT", "/v0/sites/b1/managers", site)[0], 200)
        value = wait_for(lambda: (lambda m: m if (m.get("load") or {}).get("weights", {}).get(
            "vis") == 1 else None)(cloud.get("/v0/managers/" + self.mgr)[1]), 10, 0.1,
            "weighed")["load"]["value"]
        # overload just above the load now: a scale out of 2 VIs would pass it
        pol = dict(site, overload=value + 1.5, anticipate_s=60)
        self.assertEqual(cloud.request("PUT", "/v0/sites/b1/managers", pol)[0], 200)
        small = b1.ok("POST", "/v0/scheduled-operations",
                      {"deployment": "es3", "operation": "heal", "in_s": 300}, expect=(201,))
        t0 = time.time()
        big = b1.ok("POST", "/v0/scheduled-operations",
                    {"deployment": "es3", "operation": "scale",
                     "params": {"vdu": "web", "delta": 2}, "in_s": 30}, expect=(201,))
        d = wait_for(lambda: next((x for x in decisions(cloud, state="failed")
                                   if x["manager"] == self.mgr and when(x["created"]) >= t0),
                                  None), 30, 0.1, "an anticipated scale out")
        self.assertIn("anticipating scale of", d["reason"])
        self.assertIn(big["id"], d["reason"])
        self.assertNotIn(small["id"], d["reason"])  # too far, and too small
        # the inputs name what was scheduled, as the load reported it
        self.assertIn(big["id"], [x["id"] for x in d["inputs"]["scheduled"]])
        self.assertIn("no room at site b1", d["error"])
        # once per scheduled operation: the reports after it (cooldown 0) decide no other
        time.sleep(3)
        self.assertEqual([x["id"] for x in decisions(cloud) if big["id"] in x["reason"]],
                         [d["id"]])
        for s in (small, big):
            b1.ok("DELETE", "/v0/scheduled-operations/" + s["id"])
        self.assertEqual(cloud.request("PUT", "/v0/sites/b1/managers", {"overload": 1000})[0],
                         200)
