"""Restart on exit (docs/MONITORING.md "Restart on exit"), with real VNFs
killed with kill -9: every VNF whose process dies is restarted by its exit
watch by default, at once for its first deaths and then with a crash-loop
backoff that grows to a cap and starts over after a stable period; a VNFD
can opt out; VIs stopped on purpose are never restarted; a restart waits
for another operation of its deployment; a manager restart carries out
what was pending or died meanwhile, and a kill -9 of the manager during a
restart resumes it once; a rule watching the same VI makes no second heal.
Assertions are on pids, states, records and events, never on how fast the
(shared, slow) machine is."""
import datetime
import os
import subprocess
import time
import unittest

from vnfm import Daemon, DaemonTest, http_get, pid_alive, wait_for
from test_deploy import demo, script
from test_sol003 import SolClient


def ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Heal:
    """What the tests of both classes below look at."""

    def vis(self, dep):
        return self.d.deployment(dep)["vis"]

    def heals(self, dep):
        ops = self.d.get("/v0/operations?deployment=%s&type=heal" % dep)[1]["operations"]
        return sorted(ops, key=lambda o: o["created"])

    def decision(self, dec_id):
        return self.d.get("/v0/decisions/" + dec_id)[1]

    def logs(self, **q):
        return self.d.get("/v0/logs?" + "&".join("%s=%s" % kv for kv in q.items()))[1]["logs"]

    def exits(self, vi_id):
        """The exit events of a VI, oldest first."""
        return [l for l in self.logs(category="lifecycle", event="vi")
                if l.get("vi") == vi_id and l["result"] == "exited"]

    def restarted(self, dep, old, timeout=30):
        """Waits until the VI of old runs again with a new process, its
        restart done (no operation left on the deployment)."""
        def again():
            d = self.d.deployment(dep)
            vi = [v for v in d["vis"] if v["id"] == old["id"]][0]
            return (vi["state"] == "running" and vi["pid"] != old["pid"] and
                    not d["operation"] and vi)
        return wait_for(again, timeout, 0.02, "a restart of %s" % old["name"])

    def kill(self, dep, index=0):
        vi = [v for v in self.vis(dep) if v["index"] == index][0]
        os.kill(vi["pid"], 9)
        return vi

    def ended_decision(self, op):
        return wait_for(lambda: (lambda d: d if d["state"] != "running" else None)(
            self.decision(op["decision"])), 20, 0.05, "the restart's decision to end")


class RestartTest(Heal, DaemonTest):

    def test_healed_by_default(self):
        self.d.onboard(demo("heal-dflt"))
        self.d.deploy("hd1", "heal-dflt")
        vi = self.kill("hd1")
        new = self.restarted("hd1", vi)
        self.assertEqual((new["restarts"], new["ip"]), (1, vi["ip"]))
        self.assertEqual(http_get("http://%s:8080/" % new["ip"])[0], 200)
        self.assertEqual(self.d.deployment("hd1")["status"], "active")
        self.assertFalse(pid_alive(vi["pid"]))
        # why: the restart record of the VI, its decision, its operation, the log
        self.assertEqual({k: new["restart"][k] for k in ("deaths", "step", "delay_ms", "pending")},
                         {"deaths": 1, "step": 0, "delay_ms": 0, "pending": False})
        self.assertIn("killed by signal 9", new["restart"]["exit"])
        [op] = self.heals("hd1")
        self.assertEqual((op["state"], op["automatic"]), ("completed", True))
        dec = self.ended_decision(op)
        self.assertEqual((dec["rule"], dec["stage"], dec["state"], dec["targets"]),
                         ("process-exit", "vnf_failure", "completed", [vi["id"]]))
        self.assertEqual(dec["actions"][0]["operation"], op["id"])
        self.assertIn("process %d killed by signal 9" % vi["pid"], dec["reason"])
        self.assertIn("restarted at once", dec["reason"])
        self.assertIn("the next death is restarted at once", dec["reason"])
        [ev] = self.exits(vi["id"])
        self.assertIn("restarting it at once (death 1 within 60 s)", ev["message"])
        r = self.d.ctl("decisions", "--deployment", "hd1")
        self.assertIn(dec["id"], r.stdout)

    def test_backoff_grows_and_resets(self):
        v = demo("heal-loop")
        # six deaths must fall in one window: 30 s leaves room for slow
        # restarts (under ASan on a loaded machine a cycle can take 2-3 s)
        v["restart"] = {"burst": 2, "window_s": 30, "delay_ms": 300, "max_delay_s": 1}
        self.d.onboard(v)
        self.d.deploy("hl1", "heal-loop")
        # deaths one after the other, each soon after its restart
        for n, (step, wait) in enumerate([(0, 0), (0, 0), (1, 300), (2, 600), (3, 1000),
                                          (4, 1000)], 1):
            vi = self.kill("hl1")
            new = self.restarted("hl1", vi)
            rs = new["restart"]
            self.assertEqual((rs["deaths"], rs["step"], rs["delay_ms"], rs["pending"]),
                             (n, step, wait, False), rs)
            ev = self.exits(vi["id"])[-1]
            if wait:
                # never before it was due
                self.assertGreaterEqual(ts(new["started"]), ts(rs["due"]) - 0.002)
                self.assertIn("crash loop (death %d within 30 s): restarting it in %s" %
                              (n, "%d ms" % wait if wait < 1000 else "1 s"), ev["message"])
            else:
                self.assertIn("restarting it at once", ev["message"])
        dec = self.ended_decision(self.heals("hl1")[-1])
        self.assertIn("restarted after a backoff of 1 s", dec["reason"])
        self.assertIn("the next death waits 1 s, none once it has run 30 s", dec["reason"])
        # a whole window of running: the next death is restarted at once, and
        # the doubling starts over
        started = ts(self.vis("hl1")[0]["started"])
        time.sleep(max(0, started + 30.5 - time.time()))
        vi = self.kill("hl1")
        rs = self.restarted("hl1", vi)["restart"]
        self.assertEqual((rs["deaths"], rs["step"], rs["delay_ms"]), (1, 0, 0), rs)
        for n, wait in ((2, 0), (3, 300)):
            rs = self.restarted("hl1", self.kill("hl1"))["restart"]
            self.assertEqual((rs["deaths"], rs["delay_ms"]), (n, wait), rs)
        self.assertEqual(len(self.heals("hl1")), 9)

    def test_opt_out(self):
        v = demo("heal-never")
        v["restart"] = {"policy": "never"}
        self.d.onboard(v)
        self.d.deploy("hn1", "heal-never")
        vi = self.kill("hn1")
        ev = wait_for(lambda: self.exits(vi["id"]), 10, what="the exit event")[0]
        self.assertIn("not restarted: the restart policy of its VNFD is never", ev["message"])
        [now] = self.vis("hn1")
        self.assertEqual((now["state"], now.get("restart")), ("exited", None))
        self.assertEqual(self.d.deployment("hn1")["status"], "degraded")
        self.assertEqual(self.heals("hn1"), [])
        # an operator heals it
        op = self.d.ok("POST", "/v0/deployments/hn1/heal", {})
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        self.assertEqual(self.vis("hn1")[0]["state"], "running")
        # a rule may not be named like the built-in one
        v["id"], v["rules"] = "heal-named", [{"name": "process-exit", "metric": "process.up",
                                              "op": "==", "threshold": 0,
                                              "actions": [{"action": "heal"}]}]
        status, doc, _ = self.d.post("/v0/vnfds", v)
        self.assertEqual((status, doc.get("field")), (400, "rules[0].name"), doc)
        v = demo("heal-bad")
        v["restart"] = {"delay_ms": 5000, "max_delay_s": 2}
        status, doc, _ = self.d.post("/v0/vnfds", v)
        self.assertEqual((status, doc.get("field")), (400, "restart.delay_ms"), doc)

    def test_stopped_on_purpose_not_restarted(self):
        self.d.onboard(demo("heal-stop"))
        self.d.deploy("hs1", "heal-stop")
        # scale-in: the VI it removes is not restarted
        op = self.d.ok("POST", "/v0/deployments/hs1/scale", {"vdu": "web", "count": 2})
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        [gone] = [v for v in self.vis("hs1") if v["index"] == 1]
        op = self.d.ok("POST", "/v0/deployments/hs1/scale", {"vdu": "web", "count": 1})
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        self.assertFalse(pid_alive(gone["pid"]))
        # SOL003 operate stop: the VI stays stopped until started again
        sol = SolClient(self.d)
        [vi] = self.vis("hs1")
        sol.run("hs1", "operate", {"changeStateTo": "STOPPED", "stopType": "FORCEFUL"})
        self.assertFalse(pid_alive(vi["pid"]))
        time.sleep(1)  # what a restart would take many times over
        self.assertEqual(self.vis("hs1")[0]["state"], "stopped")
        sol.run("hs1", "operate", {"changeStateTo": "STARTED"})
        self.assertEqual(self.vis("hs1")[0]["state"], "running")
        self.assertEqual(self.heals("hs1"), [])
        self.assertEqual(self.exits(vi["id"]) + self.exits(gone["id"]), [])
        # undeploy while a restart waits for its backoff: it never happens
        v = demo("heal-wait")
        v["restart"] = {"burst": 0, "delay_ms": 2000}
        self.d.onboard(v)
        self.d.deploy("hs2", "heal-wait")
        vi = self.kill("hs2")
        ev = wait_for(lambda: self.exits(vi["id"]), 10, what="the exit event")[0]
        self.assertIn("restarting it in 2 s", ev["message"])
        op = self.d.ok("DELETE", "/v0/deployments/hs2", expect=(202,))
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        time.sleep(max(0, ts(ev["time"]) + 2.5 - time.time()))
        self.assertEqual(self.heals("hs2"), [])
        self.assertEqual(self.d.netns(), ["vnfm-%s-%s" % (self.d.tag, self.vis("hs1")[0]["id"])])

    def test_restart_waits_for_the_deployments_operation(self):
        slow = script(os.path.join(self.d.scripts, "slow-post.sh"), "sleep 1.5\n")
        v = demo("heal-busy")
        v["lifecycle"] = {"post_deployment": [{"script": slow}]}
        self.d.onboard(v)
        self.d.deploy("hb1", "heal-busy")
        scale = self.d.ok("POST", "/v0/deployments/hb1/scale", {"vdu": "web", "delta": 1})
        wait_for(lambda: any(l.get("stage") == "post_deployment" and l["result"] == "started"
                             for l in self.logs(operation=scale["id"], event="stage")),
                 20, 0.01, "the scale-out's post-deployment")
        vi = self.kill("hb1")
        ev = wait_for(lambda: self.exits(vi["id"]), 10, what="the exit event")[0]
        self.assertIn("once operation %s has ended" % scale["id"], ev["message"])
        scale = self.d.wait_op(scale["id"])
        self.assertEqual(scale["state"], "completed")
        self.restarted("hb1", vi)
        [heal] = self.heals("hb1")
        self.assertGreaterEqual(heal["created"], scale["finished"])
        self.assertEqual(self.ended_decision(heal)["state"], "completed")

    def test_exactly_one_heal_with_rules_watching(self):
        v = demo("heal-rules")
        v["monitoring"] = {"interval_s": 0.5, "metrics": {
            "health": {"probe": "tcp", "port": 8080, "timeout_ms": 300}}}
        v["rules"] = [
            {"name": "down", "metric": "health.up", "op": "==", "threshold": 0,
             "stage": "vnf_failure", "cooldown_s": 0,
             "actions": [{"action": "heal", "policy": "reboot"}]},
            {"name": "died", "metric": "process.up", "op": "==", "threshold": 0,
             "stage": "vnf_failure", "cooldown_s": 0, "actions": [{"action": "heal"}]}]
        self.d.onboard(v)
        self.d.deploy("hr1", "heal-rules")

        def probed():
            # the monitor reads the deployment from the bus a moment after
            # the deploy's commit: until then it has no series of it
            m = self.d.get("/v0/deployments/hr1/monitoring")[1]["metrics"]
            s = m.get("health", {}).get("vis")
            return s and s[0]["up"]
        for n in (1, 2):
            wait_for(probed, 10, what="a healthy probe")
            vi = self.restarted("hr1", self.kill("hr1"))
            time.sleep(2)  # four probe intervals: time for the rules to see the failure
            self.assertEqual(self.vis("hr1")[0]["pid"], vi["pid"])
            self.assertEqual(vi["restarts"], n)
            self.assertEqual(len(self.heals("hr1")), n)
        self.d.ok("PUT", "/v0/deployments/hr1/rules", {"rules": []})


class RestartCrashTest(Heal, unittest.TestCase):
    """A manager killed with -9: restarts it owed are carried out once."""

    def setUp(self):
        self.d = Daemon().start()

    def tearDown(self):
        self.d.cleanup()

    def test_manager_restart_heals_what_died_or_waited(self):
        self.d.onboard(demo("heal-down"))
        v = demo("heal-later")
        v["restart"] = {"burst": 0, "delay_ms": 3000, "max_delay_s": 10}
        self.d.onboard(v)
        self.d.deploy("hc1", "heal-down")
        self.d.deploy("hc2", "heal-later")
        # hc2's restart waits for its backoff when the manager dies
        later = self.kill("hc2")
        ev = wait_for(lambda: self.exits(later["id"]), 10, what="the exit event")[0]
        self.assertIn("restarting it in 3 s", ev["message"])
        due = ts(self.vis("hc2")[0]["restart"]["due"])
        [down] = self.vis("hc1")
        self.d.kill9()
        os.kill(down["pid"], 9)  # hc1's VNF dies while the manager is down
        self.d.restart()
        new = self.restarted("hc1", down)
        self.assertIn("ended while the manager was down", new["restart"]["exit"])
        [op] = self.heals("hc1")
        self.assertEqual(self.ended_decision(op)["state"], "completed")
        new = self.restarted("hc2", later)
        self.assertGreaterEqual(ts(new["started"]), due - 0.002)
        self.assertEqual(len(self.heals("hc2")), 1)

    def test_kill9_during_a_restart_resumes_it_once(self):
        slow = script(os.path.join(self.d.scripts, "slow-heal.sh"), "sleep 2\n")
        v = demo("heal-crash")
        v["lifecycle"] = {"heal": [{"script": slow}]}
        self.d.onboard(v)
        self.d.deploy("hk1", "heal-crash")
        vi = self.kill("hk1")
        heal = wait_for(lambda: self.heals("hk1"), 10, 0.01, "the restart's heal")[0]
        wait_for(lambda: self.vis("hk1")[0]["pid"] != vi["pid"], 10, 0.01, "the new process")
        self.d.kill9()
        self.d.restart()
        self.assertEqual(self.d.wait_op(heal["id"])["state"], "completed")
        new = self.restarted("hk1", vi)
        self.assertEqual(len(self.heals("hk1")), 1)
        self.assertEqual(self.ended_decision(heal)["state"], "completed")
        self.assertEqual(new["restarts"], 1)
        procs = subprocess.run(["pgrep", "-f", "vnf-demo --listen %s:8080" % new["ip"]],
                               capture_output=True, text=True).stdout.split()
        self.assertEqual([int(p) for p in procs if pid_alive(int(p))], [new["pid"]])
        self.assertEqual(http_get("http://%s:8080/" % new["ip"])[0], 200)


if __name__ == "__main__":
    unittest.main()
