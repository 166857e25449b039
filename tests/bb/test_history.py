"""The history of a deployment's metric samples (GET /v0/deployments/{id}/metrics,
docs/MONITORING.md "History"): the monitor keeps the last 120 values of each
series with the wall time each was taken, oldest first; a real cgroup probe
of a running VNF fills it; it is scoped to the deployment's tenant like every
deployment route; bad input is refused at its field."""
import json
import os
import time
import unittest

from vnfm import DaemonTest, wait_for
from test_deploy import demo

HISTORY_MAX = 120


class HistoryTest(DaemonTest):

    def history(self, dep, query="", token="admin"):
        status, doc, _ = self.d.get("/v0/deployments/%s/metrics%s" % (dep, query), token=token)
        self.assertEqual(status, 200, doc)
        return doc

    def series(self, doc, metric):
        """The metric's VIs; none while the monitor has not taken the deployment up yet
        (it follows the deploy's commit: CI114 read the history first)."""
        return doc["metrics"].get(metric, {"vis": []})["vis"]

    def test_history_is_bounded_ordered_and_tenant_scoped(self):
        self.d.ok("POST", "/v0/tenants", {"id": "hist-a"})
        self.d.ok("POST", "/v0/tenants", {"id": "hist-b"})
        mine = self.d.ok("POST", "/v0/tenants/hist-a/tokens", {})["token"]
        other = self.d.ok("POST", "/v0/tenants/hist-b/tokens", {})["token"]
        v = demo("hist-vnfd")
        v["monitoring"] = {"interval_s": 0.5, "metrics": {
            "load": {"probe": "push"},
            "cpu": {"probe": "cgroup", "resource": "cpu"}}}
        self.d.onboard(v, token=mine)
        self.d.deploy("h1", "hist-vnfd", token=mine)

        # a real probe fills the history of the running VI, value by value
        def cpu_values():
            vis = self.series(self.history("h1", token=mine), "cpu")
            return vis if vis and len(vis[0]["history"]) >= 3 else None
        cpu = wait_for(cpu_values, 20, 0.2, "three CPU samples")[0]
        self.assertEqual(cpu["name"], "h1/web/0")
        self.assertGreaterEqual(cpu["samples"], len(cpu["history"]))
        times = [t for t, _ in cpu["history"]]
        self.assertEqual(times, sorted(times))
        self.assertLess(abs(times[-1] / 1000 - time.time()), 30, "wall times in epoch ms")

        # pushed values: after 130 of them the last 120 are kept, in order
        for i in range(1, 131):
            self.d.ok("POST", "/v0/deployments/h1/metrics", {"values": {"load": i}}, token=mine)

        def load_series():
            vis = self.series(self.history("h1", "?metric=load", token=mine), "load")
            return vis if vis and vis[0]["samples"] == 130 else None
        load = wait_for(load_series, 20, 0.1, "130 pushed values")[0]
        doc = self.history("h1", "?metric=load", token=mine)
        self.assertEqual(list(doc["metrics"]), ["load"], "?metric= gives that metric alone")
        self.assertEqual(doc["history_max"], HISTORY_MAX)
        self.assertEqual(doc["metrics"]["load"]["probe"], "push")
        self.assertEqual([v for _, v in load["history"]], list(range(11, 131)))
        times = [t for t, _ in load["history"]]
        self.assertEqual(times, sorted(times))

        # ?since= gives the values taken after that time
        cut = times[-1] - 1
        later = [v for t, v in load["history"] if t > cut]
        got = self.series(self.history("h1", "?metric=load&since=%d" % cut, token=mine), "load")
        self.assertEqual([v for _, v in got[0]["history"]], later)
        got = self.series(self.history("h1", "?metric=load&since=%d" % times[-1], token=mine),
                          "load")
        self.assertEqual(got[0]["history"], [])

        # the admin sees it; another tenant cannot tell it exists
        self.assertEqual(len(self.series(self.history("h1"), "load")[0]["history"]), HISTORY_MAX)
        self.assertError(self.d.get("/v0/deployments/h1/metrics", token=other), 404, "not-found",
                         obj="h1")
        self.assertError(self.d.get("/v0/deployments/h1/metrics", token=None), 401)

        # bad input at its field; an unknown metric has no series
        self.assertError(self.d.get("/v0/deployments/h1/metrics?since=yesterday", token=mine),
                         400, "invalid-value", field="since")
        self.assertError(self.d.get("/v0/deployments/h1/metrics?tail=1", token=mine), 400)
        self.assertEqual(self.history("h1", "?metric=nope", token=mine)["metrics"], {})
        self.assertError(self.d.get("/v0/deployments/nope/metrics"), 404, "not-found")
        # with two VIs a pushed value names its VI
        op = self.d.ok("POST", "/v0/deployments/h1/scale", {"vdu": "web", "count": 2},
                       expect=(202,), token=mine)
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        self.assertError(wait_for(lambda: (lambda r: r if r[0] == 400 else None)(
            self.d.post("/v0/deployments/h1/metrics", {"values": {"load": 1}}, token=mine)),
            10, 0.1, "the second VI's series"), 400, "invalid-value", field="vi")
        self.d.ok("POST", "/v0/deployments/h1/metrics", {"values": {"load": 1}, "vi": "h1/web/1"},
                  expect=(202,), token=mine)
        self.d.undeploy_all()

    def test_a_restart_keeps_the_history(self):
        """The charts survive a restart of the manager: a clean stop writes the histories
        into the data dir (metrics-history.json), a running manager every 10 s, so a kill -9
        loses at most the last 10 s; the series of a VI whose process is the same (adopted
        after the restart) takes its history up."""
        v = demo("hist-restart")
        v["monitoring"] = {"interval_s": 60, "metrics": {"load": {"probe": "push"}}}
        self.d.onboard(v)
        self.d.deploy("h2", "hist-restart")
        for x in (5, 6):
            self.d.ok("POST", "/v0/deployments/h2/metrics", {"values": {"load": x}})

        def values():
            vis = self.history("h2")["metrics"].get("load", {}).get("vis")
            return [v for _, v in vis[0]["history"]] if vis else None

        wait_for(lambda: values() == [5, 6], 10, 0.1, "the pushed values")
        self.d.stop()
        self.d.restart()
        wait_for(lambda: values() == [5, 6], 20, 0.1, "the history after a clean restart")
        self.d.ok("POST", "/v0/deployments/h2/metrics", {"values": {"load": 7}})
        wait_for(lambda: values() == [5, 6, 7], 10, 0.1, "the new value after the old ones")
        path = os.path.join(self.d.dir, "metrics-history.json")

        def written():
            with open(path) as f:
                doc = json.load(f)["series"]
            return [v for k, x in doc.items() if "h2/load/" in k for v in x["v"]] == [5, 6, 7]

        wait_for(written, 30, 0.5, "the history written by the running manager")
        self.d.kill9()
        self.d.restart()
        wait_for(lambda: values() == [5, 6, 7], 20, 0.1, "the history after a kill -9")

if __name__ == "__main__":
    unittest.main()
