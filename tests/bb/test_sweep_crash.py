"""The kill -9 sweep (issue 10 finding 4), under the sanitizers: vnfmd is
killed at many points of deploy, scale out, heal, scale in and undeploy,
and restarted each time. After every restart each acknowledged request is
found (the write it made, the operation it started), each operation ends
as it would have without the crash, and the host holds exactly what the
records say: one live, answering process per running VI, one namespace
and one cgroup per VI, nothing else. The sanitizers must stay silent.

The kill points are a delay after the request was acknowledged, spread
over each operation's span and moved a little at random on each run (the
seed is in the failure message); SWEEP_ROUNDS sets how many rounds of the
five operations run (8 by default: 40 kill points, about 30 s)."""
import os
import random
import subprocess
import time
import unittest

from vnfm import Daemon, http_get, pid_alive
from test_crash import cmdline
from test_deploy import demo

DELAYS = [0.0, 0.004, 0.012, 0.03, 0.07, 0.15, 0.3, 0.5]


class CrashSweepTest(unittest.TestCase):

    def setUp(self):
        self.d = Daemon().start()
        self.seed = int(os.environ.get("SWEEP_SEED", random.randrange(1 << 30)))
        self.rng = random.Random(self.seed)
        self.acked = []  # tenants whose creation was acknowledged
        self.points = 0

    def tearDown(self):
        self.d.cleanup()

    def where(self, what, delay):
        return "%s, killed %.0f ms after it was acknowledged (SWEEP_SEED=%d)" % (
            what, delay * 1000, self.seed)

    def kill_point(self, what, request, delay, name, want):
        """request() is acknowledged, the manager dies delay s later and
        starts again; want is the number of VIs name then has (None: gone)."""
        d = self.d
        tenant = "ack%d" % self.points
        d.ok("POST", "/v0/tenants/" + tenant, {})
        self.acked.append(tenant)
        op = request()
        time.sleep(delay)
        d.kill9()
        d.check_sanitizers()
        d.restart()
        self.points += 1
        where = self.where(what, delay)
        done = d.wait_op(op["id"])  # the acknowledged operation exists after the restart
        self.assertEqual(done["state"], "completed", "%s: %s" % (where, done))
        have = {t["id"] for t in d.get("/v0/tenants")[1]["tenants"]}
        self.assertTrue(set(self.acked) <= have, "%s: acknowledged tenants lost: %s" %
                        (where, set(self.acked) - have))
        self.assert_accounted(name, want, where)

    def assert_accounted(self, name, want, where):
        d = self.d
        status, dep, _ = d.get("/v0/deployments/" + name)
        if want is None:
            self.assertEqual(status, 404, "%s: %s" % (where, dep))
            vis = []
        else:
            self.assertEqual((status, dep["status"], dep.get("operation")), (200, "active", None),
                             "%s: %s" % (where, dep))
            vis = dep["vis"]
            self.assertEqual(len(vis), want, "%s: %s" % (where, vis))
            for vi in vis:
                self.assertEqual(vi["state"], "running", "%s: %s" % (where, vi))
                self.assertTrue(pid_alive(vi["pid"]), "%s: VI %s pid %s" % (where, vi["id"],
                                                                            vi["pid"]))
                self.assertEqual(http_get("http://%s:8080/" % vi["ip"])[0], 200, where)
        # no operation is left running, no VI record without its deployment
        ops = d.get("/v0/operations?state=processing")[1]["operations"]
        self.assertEqual(ops, [], where)
        # the host holds exactly what the records say
        ids = sorted(v["id"] for v in vis)
        self.assertEqual(sorted(d.netns()), ["vnfm-%s-%s" % (d.tag, i) for i in ids], where)
        self.assertEqual(sorted({os.path.basename(c) for c in d.cgroups()}), ids, where)
        procs = subprocess.run(["pgrep", "-f", "vnf-demo --listen %s" % d.subnet.rsplit(".", 1)[0]],
                               capture_output=True, text=True).stdout.split()
        mine = [p for p in procs if pid_alive(int(p)) and "vnf-demo" in cmdline(p)]
        self.assertEqual(sorted(int(p) for p in mine), sorted(v["pid"] for v in vis),
                         "%s: VNF processes" % where)

    def test_sweep(self):
        d = self.d
        v = demo("sweep")
        v["vdus"][0]["scaling"] = {"min": 1, "max": 3, "initial": 2}
        d.onboard(v)
        rounds = int(os.environ.get("SWEEP_ROUNDS", str(len(DELAYS))))
        for r in range(rounds):
            base = DELAYS[r * len(DELAYS) // rounds]
            name = "sw%d" % r
            dep = "/v0/deployments/" + name

            def delay():
                return base * self.rng.uniform(0.7, 1.3)
            self.kill_point("deploy", lambda: d.ok("POST", "/v0/deployments",
                                                   {"name": name, "vnfd": "sweep"}),
                            delay(), name, 2)
            self.kill_point("scale out", lambda: d.ok("POST", dep + "/scale",
                                                      {"vdu": "web", "count": 3}),
                            delay(), name, 3)
            vi = d.deployment(name)["vis"][0]["id"]
            self.kill_point("heal", lambda: d.ok("POST", dep + "/heal", {"vi": vi}),
                            delay(), name, 3)
            self.kill_point("scale in", lambda: d.ok("POST", dep + "/scale",
                                                     {"vdu": "web", "count": 1}),
                            delay(), name, 1)
            self.kill_point("undeploy", lambda: d.ok("DELETE", dep), delay(), name, None)
        self.assertEqual(self.points, 5 * rounds)
        for t in self.acked:
            d.ok("DELETE", "/v0/tenants/" + t)


if __name__ == "__main__":
    unittest.main()
