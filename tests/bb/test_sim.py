"""The sim VIM driver through the real daemon (docs/VIM_SIM.md): a site
made with --site-driver sim or POST /v0/sites deploys, scales, heals and
undeploys VNFs that exist only in the manager's memory, with addresses of
its own, simulated latency, failures and capacity; its view says it is a
simulation, and nothing of it appears on the host."""
import unittest

from vnfm import DaemonTest, wait_for
from test_deploy import demo


class SimDefaultSiteTest(DaemonTest):
    """A manager whose own site is simulated."""

    daemon_args = ("--site-driver", "sim")

    def test_deploy_scale_heal_undeploy(self):
        d = self.d
        site = d.get("/v0/sites/local")[1]
        self.assertEqual((site["driver"], site["simulated"]), ("sim", True))
        self.assertIn("simulated VIM", site["simulation"]["note"])
        self.assertNotIn("subnet", site)
        self.assertEqual(d.get("/v0/health", token=None)[1]["code"], 2000)
        d.onboard(demo("sim-web"))
        d.deploy("s1", "sim-web")
        [vi] = d.deployment("s1")["vis"]
        self.assertEqual((vi["state"], vi["pid"]), ("running", 0))
        self.assertTrue(vi["ip"].startswith("100."), vi)  # the sim's own addresses
        op = d.ok("POST", "/v0/deployments/s1/scale", {"vdu": "web", "count": 3}, expect=(202,))
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        vis = d.deployment("s1")["vis"]
        self.assertEqual(len({v["ip"] for v in vis}), 3)
        self.assertEqual(d.get("/v0/sites/local")[1]["simulation"]["vis"], 3)
        op = d.ok("POST", "/v0/deployments/s1/heal", {"vi": vi["id"], "policy": "reboot"},
                  expect=(202,))
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        healed = [v for v in d.deployment("s1")["vis"] if v["id"] == vi["id"]][0]
        self.assertEqual((healed["state"], healed["restarts"]), ("running", 1))
        op = d.ok("POST", "/v0/deployments/s1/scale", {"vdu": "web", "count": 1}, expect=(202,))
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        # a clean restart keeps the simulated VIs: adopted, not restarted
        d.stop()
        d.restart()
        [after] = d.deployment("s1")["vis"]
        self.assertEqual((after["id"], after["state"]), (vi["id"], "running"))
        op = d.ok("DELETE", "/v0/deployments/s1", expect=(202,))
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        self.assertEqual(d.get("/v0/sites/local")[1]["simulation"]["vis"], 0)
        self.assertEqual(d.netns(), [])
        self.assertFalse(d.has_bridge())


class SimSiteTest(DaemonTest):
    """Sim sites beside the manager's own proc site, made through the API."""

    def site(self, sid, **options):
        """A new sim site, once its driver has opened (a moment after the 201)."""
        self.d.ok("POST", "/v0/sites", {"id": sid, "driver": "sim",
                                        "capacity": {"vcpu": 64, "memory_mb": 65536},
                                        "options": options}, expect=(201,))
        return wait_for(lambda: (lambda s: s["vim"]["health"] == "ok" and s)(
            self.d.get("/v0/sites/" + sid)[1]), 10, what="site %s open" % sid)

    def test_failures_latency_and_capacity(self):
        d = self.d
        self.site("sim-a", latency_ms=5, seed=1)
        d.onboard(demo("sim-t"))
        d.deploy("a1", "sim-t", site="sim-a")
        self.assertEqual(d.get("/v0/sites/sim-a")[1]["simulation"]["latency_ms"], 5)
        # every start fails: a scale-out retries, then rolls back
        d.ok("PUT", "/v0/sites/sim-a", {"options": {"fail_rate": 1, "fail_ops": ["start"]}})
        op = d.ok("POST", "/v0/deployments/a1/scale", {"vdu": "web", "count": 2}, expect=(202,))
        op = d.wait_op(op["id"])
        self.assertEqual(op["state"], "rolled_back", op)
        self.assertIn("simulated start failure", op["error"])
        self.assertEqual(len(d.deployment("a1")["vis"]), 1)
        d.ok("PUT", "/v0/sites/sim-a", {"options": {"fail_rate": 0}})
        op = d.ok("POST", "/v0/deployments/a1/scale", {"vdu": "web", "count": 2}, expect=(202,))
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        # a simulated VIM that holds two VIs
        self.site("sim-b", max_vis=2)
        op = d.ok("POST", "/v0/deployments", {"name": "b1", "vnfd": "sim-t", "site": "sim-b",
                                              "instances": {"web": 3}}, expect=(202,))
        op = d.wait_op(op["id"])
        self.assertEqual(op["state"], "rolled_back", op)
        self.assertIn("max_vis", op["error"])
        self.assertEqual(d.get("/v0/sites/sim-b")[1]["simulation"]["vis"], 0)

    def test_bad_sites_refused(self):
        d = self.d
        cap = {"vcpu": 1, "memory_mb": 1024}
        self.assertError(d.post("/v0/sites", {"id": "x", "driver": "sim", "capacity": cap,
                                              "options": {"latency_ms": -1}}),
                         400, "invalid-value", "options.latency_ms")
        self.assertError(d.post("/v0/sites", {"id": "x", "driver": "sim", "capacity": cap,
                                              "options": {"warm_vis": 1}}),
                         400, "unknown-field", "options.warm_vis")
        self.assertError(d.post("/v0/sites", {"id": "x", "driver": "vmware", "capacity": cap}),
                         400, "invalid-value", "driver")
        self.assertError(d.post("/v0/sites", {"id": "x", "driver": "proc", "capacity": cap}),
                         400, "missing-field", "subnet")
        self.assertError(d.post("/v0/sites", {"id": "x", "driver": "proc", "capacity": cap,
                                              "subnet": d.subnet}), 409, "conflict", "subnet")
        self.assertError(d.post("/v0/sites", {"id": "local", "driver": "sim", "capacity": cap}),
                         409, "conflict", "id")
        self.assertError(d.request("PUT", "/v0/sites/local", {"options": {"latency_ms": 1}}),
                         400, "unknown-field", "options.latency_ms")
        self.assertEqual(d.get("/v0/sites/x")[0], 404)
        # a VDU without a command runs on a sim site, not on a proc one
        v = demo("no-cmd")
        del v["vdus"][0]["command"]
        d.onboard(v)
        self.assertError(d.post("/v0/deployments", {"name": "n1", "vnfd": "no-cmd"}),
                         409, "conflict", "vnfd")
        self.site("sim-c")
        d.deploy("n2", "no-cmd", site="sim-c")


if __name__ == "__main__":
    unittest.main()
