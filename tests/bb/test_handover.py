"""Handover of deployments between the managers of one branch site, their VNF
processes kept (docs/FEDERATION.md "Handover", issue 12): an overloaded branch
manager starts a new one, which takes part of its deployments with the same pids;
a VNF killed after that is healed by its new manager; underloaded, the new manager
is drained (its deployments back to its parent, same pids) and removed; kill -9 of
either side in the middle of a handover leaves every deployment with one owner and
every VNF with one process. Real daemons: a cloud, a branch with the process VIM."""
import glob
import os
import signal
import sqlite3
import time
import unittest
import urllib.request

from vnfm import Daemon, pid_alive, slurp, wait_for
from test_deploy import demo
from test_elastic import VNFS_ONLY, api_of, child_cgroups, decisions
from test_fed import Pki, branch, join_token, manager_of

NAMES = ("h1", "h2", "h3", "h4")


def child_tags(parent):
    """The instance tags of the managers parent started."""
    tags = []
    for db in glob.glob(os.path.join(parent.dir, "managers", "*", "vnfm.db")):
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'instance_tag'").fetchone()
        finally:
            con.close()
        tags += [row[0]] if row else []
    return tags


def uid_claim(pid):
    """The instance tag of the manager that claims the uid process pid runs as."""
    uid = [l.split()[1] for l in slurp("/proc/%d/status" % pid).splitlines()
           if l.startswith("Uid:")][0]
    return slurp("/run/vnfm/uids/" + uid).strip()


def purge(tags):
    """What managers of these tags left on the host (VNFs outlive their managers: a
    test that failed half way leaves those of the deployments a child ran)."""
    for tag in tags:
        d = Daemon.__new__(Daemon)
        d.tag, d.ns = tag, None
        d.purge_host()


class HandoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.cloud = cls.pki.cloud().start()
        cls.b1 = branch(cls.cloud, "b1", join_token(cls.cloud, "b1")).start()
        cls.mgr = wait_for(lambda: manager_of(cls.cloud, "b1"), 10, what="b1 joined")["id"]

    @classmethod
    def tearDownClass(cls):
        tag, kids = cls.b1.tag, child_tags(cls.b1)
        try:
            cls.cloud.cleanup()  # its undeploys go to whichever manager runs them
        finally:
            try:
                cls.b1.cleanup()
            finally:
                purge(kids)
                cls.pki.close()
        assert child_cgroups(tag) == [], child_cgroups(tag)

    def put_policy(self, body):
        return self.cloud.request("PUT", "/v0/sites/b1/managers", body)

    def owner(self, name):
        return self.cloud.get("/v0/deployments/" + name)[1].get("manager")

    def pids(self, api, name):
        return sorted(v["pid"] for v in api.deployment(name)["vis"])

    def children(self):
        v = self.cloud.get("/v0/managers/" + self.mgr)[1]
        return [c for c in v.get("children", []) if c["state"] == "healthy"]

    def the_child(self):
        """The one manager b1 started, healthy. A decision can end (the new manager joined,
        its handover ended) before b1's next report says so: b1 finds it healthy at its
        next watch (every 0.5 s) and tells the cloud in the report after (CI58)."""
        [child] = wait_for(lambda: self.children() or None, 10, 0.1,
                           "b1's report of its new manager, healthy")
        return child

    def test_a_handover_heal_and_drain(self):
        cloud, b1 = self.cloud, self.b1
        cloud.onboard(demo("ho-web"))
        for name in NAMES:
            op = cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": "ho-web",
                                                      "site": "b1"}, expect=(202,))
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        before = {n: self.pids(b1, n) for n in NAMES}
        for ps in before.values():
            self.assertTrue(all(pid_alive(p) for p in ps))

        # 4 deployments weigh 4 > overload 2.5: a new manager, and 2 of them go to it
        self.assertEqual(self.put_policy({"overload": 2.5, "for_reports": 2, "cooldown_s": 0,
                                          "max": 2, "weights": VNFS_ONLY})[0], 200)
        d = wait_for(lambda: next((x for x in decisions(cloud, state="completed")
                                   if x["action"] == "scale_out"), None), 180, 0.2,
                     "scale out with its handover")
        [new] = d["managers"]
        [plan] = d["handover"]
        moved = sorted(x["id"] for x in plan["deployments"])
        self.assertEqual(len(moved), 2, plan)
        self.assertEqual((plan["moved"], plan["failed"]), (2, 0), plan)
        self.assertIn("2 deployments handed over", d["note"])
        for x in plan["deployments"]:
            self.assertIn("weighs about 1.000", x["why"])
        self.assertLessEqual(plan["estimate"], 2.5)
        stayed = sorted(set(NAMES) - set(moved))
        # the cloud shows the new owner; the VNFs are the same processes
        wait_for(lambda: all(self.owner(n) == new for n in moved), 10, 0.1, "the new owner")
        self.assertTrue(all(self.owner(n) == self.mgr for n in stayed))
        child = self.the_child()
        self.assertEqual(child["manager"], new)
        c1 = api_of(b1, child)
        for n in moved:
            self.assertEqual(self.pids(c1, n), before[n])
            self.assertEqual(b1.get("/v0/deployments/" + n)[0], 404)
            self.assertEqual(c1.deployment(n)["handed_from"]["manager"], self.mgr)
            self.assertEqual(c1.deployment(n)["status"], "active")
        for n in NAMES:
            self.assertTrue(all(pid_alive(p) for p in before[n]))
        # its namespaces and cgroups have the new manager's names now
        vi = c1.deployment(moved[0])["vis"][0]
        [ns] = glob.glob("/run/netns/vnfm-*-" + vi["id"])
        self.assertNotIn(b1.tag, ns)
        [ctag] = child_tags(b1)
        self.assertEqual(ns, "/run/netns/vnfm-%s-%s" % (ctag, vi["id"]))
        # and the uid its VNF runs as is claimed by the new manager (no one else gets it)
        self.assertEqual(uid_claim(vi["pid"]), ctag)
        self.assertTrue(os.path.isdir(os.path.join(b1.dir, "managers", child["name"], "vi",
                                                   vi["id"])))

        # a handed-over VNF killed: its new manager heals it
        victim = before[moved[0]][0]
        os.kill(victim, signal.SIGKILL)
        healed = wait_for(lambda: (lambda ps: ps if victim not in ps and all(
            pid_alive(p) for p in ps) else None)(self.pids(c1, moved[0])), 30, 0.1,
            "healed by the new manager")
        after_heal = dict(before, **{moved[0]: healed})
        # an operation through the cloud on a handed-over deployment goes to its new owner:
        # a second VI, made by the new manager (its names, its subnet)
        op = cloud.ok("POST", "/v0/deployments/%s/scale" % moved[1], {"vdu": "web", "count": 2},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        after_heal[moved[1]] = self.pids(c1, moved[1])
        self.assertEqual(len(after_heal[moved[1]]), 2)
        self.assertTrue(set(before[moved[1]]) < set(after_heal[moved[1]]))

        # underloaded: drained back to b1 (same pids), then stopped and removed
        self.assertEqual(self.put_policy({"overload": 1000, "underload": 3, "for_reports": 2,
                                          "cooldown_s": 0, "max": 2,
                                          "weights": VNFS_ONLY})[0], 200)
        d = wait_for(lambda: next((x for x in decisions(cloud, state="completed")
                                   if x["action"] == "scale_in"), None), 180, 0.2, "drained")
        self.assertIn("handed back to its parent", d["reason"])
        self.assertEqual((d["drain"]["moved"], d["drain"]["failed"]), (2, 0), d)
        wait_for(lambda: cloud.get("/v0/managers/" + new)[1]["state"] == "removed", 20, 0.1,
                 "removed")
        wait_for(lambda: not pid_alive(child["pid"]), 20, 0.1, "the child gone")
        wait_for(lambda: child_cgroups(b1.tag) == [], 10, 0.1, "its cgroup gone")
        wait_for(lambda: all(self.owner(n) == self.mgr for n in NAMES), 10, 0.1, "b1 owns all")
        for n in NAMES:
            self.assertEqual(self.pids(b1, n), after_heal[n])
            self.assertTrue(all(pid_alive(p) for p in after_heal[n]))
            self.assertTrue(all(uid_claim(p) == b1.tag for p in after_heal[n]))
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        for n in NAMES:
            op = cloud.ok("DELETE", "/v0/deployments/" + n, expect=(202,))
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        for ps in after_heal.values():
            wait_for(lambda: not any(pid_alive(p) for p in ps), 10, 0.1, "VNFs gone")

    def listeners(self, ip):
        """The processes listening as a VNF of the address ip (vnf-demo --listen IP:8080)."""
        out = []
        for pid in (int(x) for x in os.listdir("/proc") if x.isdigit()):
            try:
                cmd = slurp("/proc/%d/cmdline" % pid).split("\0")
            except OSError:
                continue
            if "vnf-demo" in cmd[0] and "%s:8080" % ip in cmd:
                out.append(pid)
        return out

    def settled(self, names, before):
        """Every deployment at exactly one manager of b1's (and the cloud says which),
        its VNFs the processes they were, one each."""
        kids = self.children()
        apis = {self.mgr: self.b1}
        for c in kids:
            apis[c["manager"]] = api_of(self.b1, c)
        where = {}
        for n in names:
            at = [m for m, a in apis.items() if a.get("/v0/deployments/" + n)[0] == 200]
            if len(at) != 1 or self.owner(n) != at[0]:
                return None
            vis = apis[at[0]].deployment(n)["vis"]
            if sorted(v["pid"] for v in vis) != before[n]:
                return None
            if any(self.listeners(v["ip"]) != [v["pid"]] for v in vis):
                return None
            where[n] = at[0]
        return where

    def wait_log(self, path, text, timeout=120):
        def seen():
            try:
                return text in slurp(path)
            except OSError:
                return False
        wait_for(seen, timeout, 0.005, text)

    def test_b_kill9_during_handover(self):
        cloud, b1 = self.cloud, self.b1
        cloud.onboard(demo("ho-k9"))
        names = ["k%d" % i for i in range(1, 7)]
        for name in names:
            op = cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": "ho-k9",
                                                      "site": "b1"}, expect=(202,))
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        before = {n: self.pids(b1, n) for n in names}
        old = {x["id"] for x in decisions(cloud)}

        def ended(action):
            return next((x for x in decisions(cloud) if x["action"] == action and x["id"] not in
                         old and x["state"] in ("completed", "failed")), None)

        # the parent (the giver, which drives the handover) killed with -9 in the middle
        self.assertEqual(self.put_policy({"overload": 3.5, "for_reports": 2, "cooldown_s": 0,
                                          "max": 2, "weights": VNFS_ONLY})[0], 200)
        self.wait_log(b1.logfile, "handing over to manager")
        b1.kill9()
        mark = os.path.getsize(b1.logfile)
        b1.start()
        d = wait_for(lambda: ended("scale_out"), 240, 0.2, "the scale out ended")
        self.assertEqual(d["state"], "completed", d)
        # the restarted parent finished the job it was in the middle of
        self.assertRegex(slurp(b1.logfile)[mark:], r"fed: handover in-\S+ from %s to \S+: 3 "
                         r"handed over, 0 not" % self.mgr)
        where = wait_for(lambda: self.settled(names, before), 60, 0.2, "one owner each")
        child = self.the_child()
        self.assertEqual(sum(m == child["manager"] for m in where.values()), 3, where)

        # the new manager (the giver of a drain) killed with -9 in the middle of it
        clog = os.path.join(b1.dir, "managers", child["name"], "vnfmd.log")
        self.assertEqual(self.put_policy({"overload": 1000, "underload": 3.5, "for_reports": 2,
                                          "cooldown_s": 0, "max": 2,
                                          "weights": VNFS_ONLY})[0], 200)
        self.wait_log(clog, "handing over to manager")
        os.kill(child["pid"], signal.SIGKILL)
        mark = os.path.getsize(b1.logfile)
        d = wait_for(lambda: ended("scale_in"), 240, 0.2, "the drain ended")
        self.assertEqual(d["state"], "completed", d)
        after = slurp(b1.logfile)[mark:]  # its parent started it again and finished the drain
        self.assertIn("; starting it again in", after)
        self.assertRegex(after, r"fed: handover in-\S+ from %s to %s: 3 handed over, 0 not" %
                         (child["manager"], self.mgr))
        where = wait_for(lambda: self.settled(names, before), 60, 0.2, "one owner each")
        self.assertEqual(set(where.values()), {self.mgr})
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        for n in names:
            op = cloud.ok("DELETE", "/v0/deployments/" + n, expect=(202,))
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")

    def one_handed_over(self, vnfd, names):
        """Deploys names (VNFD vnfd) at b1 through the cloud; a policy over 1.5 makes a
        new manager, which takes one of them. Returns that one, the new manager (its
        child record) and a function: the newest decision of an action, once ended."""
        cloud = self.cloud
        for name in names:
            op = cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": vnfd,
                                                      "site": "b1"}, expect=(202,))
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        old = {x["id"] for x in decisions(cloud)}

        def ended(action):
            return next((x for x in decisions(cloud) if x["action"] == action and x["id"] not in
                         old and x["state"] in ("completed", "failed")), None)

        self.assertEqual(self.put_policy({"overload": 1.5, "for_reports": 2, "cooldown_s": 0,
                                          "max": 2, "weights": VNFS_ONLY})[0], 200)
        d = wait_for(lambda: ended("scale_out"), 180, 0.2, "scale out with its handover")
        self.assertEqual(d["state"], "completed", d)
        [moved] = [x["id"] for x in d["handover"][0]["deployments"]]
        child = self.the_child()
        wait_for(lambda: self.owner(moved) == child["manager"], 10, 0.1, "the new owner")
        return moved, child, ended

    def test_c_an_operation_in_flight_goes_along(self):
        """A drain while a heal runs on the deployment: the giver ends the heal's stage,
        hands the deployment over with the operation, and its parent runs the heal on
        from the next stage; the cloud's operation follows it to its end."""
        cloud, b1 = self.cloud, self.b1
        slow = os.path.join(b1.scripts, "slow-heal.sh")
        with open(slow, "w") as f:
            f.write("#!/bin/sh\nsleep 4\n")
        os.chmod(slow, 0o755)
        v = demo("ho-op")
        v["lifecycle"] = {"heal": [{"script": slow}], "scale": [{"script": slow}]}
        cloud.onboard(v)
        names = ("o1", "o2")
        moved, child, ended = self.one_handed_over("ho-op", names)

        # a heal through the cloud, at the new manager; while its heal stage runs (4 s of
        # its script) the new manager is drained
        [vi] = api_of(b1, child).deployment(moved)["vis"]
        heal = cloud.ok("POST", "/v0/deployments/%s/heal" % moved, {"vi": vi["id"]},
                        expect=(202,))
        wait_for(lambda: cloud.get("/v0/operations/" + heal["id"])[1].get("stage") == "heal",
                 20, 0.05, "the heal at its heal stage")
        self.assertEqual(self.put_policy({"overload": 1000, "underload": 1.5, "for_reports": 2,
                                          "cooldown_s": 0, "max": 2, "lifecycle": "ignore",
                                          "weights": VNFS_ONLY})[0], 200)
        d = wait_for(lambda: ended("scale_in"), 180, 0.2, "the drain ended")
        self.assertEqual(d["state"], "completed", d)
        self.assertEqual((d["drain"]["moved"], d["drain"]["failed"]), (1, 0), d)
        # the heal ended at b1, which ran its last stage, and the cloud followed it there
        done = cloud.wait_op(heal["id"], timeout=60)
        self.assertEqual(done["state"], "completed", done)
        bop = b1.get("/v0/operations/" + done["branch_operation"])[1]
        self.assertEqual(bop["state"], "completed", bop)
        self.assertEqual([(x["stage"], x["result"]) for x in bop["stages"]],
                         [("heal", "ok"), ("post_deployment", "ok")], bop)
        self.assertRegex(slurp(b1.logfile), r"resuming heal of \S*%s \(%s\) at stage "
                         r"post_deployment after a handover from manager %s" %
                         (moved, bop["id"], child["manager"]))
        wait_for(lambda: all(self.owner(n) == self.mgr for n in names), 10, 0.1, "b1 owns all")
        dep = b1.deployment(moved)
        self.assertEqual(dep["status"], "active", dep)
        [vi] = dep["vis"]
        self.assertEqual(self.listeners(vi["ip"]), [vi["pid"]])
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        # an operation that still makes VIs (a scale out in its scale stage) stays: the VIs
        # would be made with the giver's addresses
        op = b1.ok("POST", "/v0/deployments/o2/scale", {"vdu": "web", "count": 2},
                   expect=(202,))
        wait_for(lambda: b1.get("/v0/operations/" + op["id"])[1]["stage"] == "scale", 20, 0.05,
                 "the scale out in its scale stage")
        st, ans, _ = b1.request("POST", "/fed/v1/handover/default:o2",  # the record's key
                                {"step": "out", "to": child["manager"], "job": "test"})
        self.assertEqual(st, 409, ans)
        self.assertIn("which still makes VIs: not handed over", ans["message"])
        self.assertEqual(b1.wait_op(op["id"])["state"], "completed")
        # a handover that asked for an operation in flight and gave up (503, not asked
        # again) leaves it to go on here once its stage ended
        vi = b1.deployment("o2")["vis"][0]  # of the two the scale out left
        op = b1.ok("POST", "/v0/deployments/o2/heal", {"vi": vi["id"]}, expect=(202,))
        wait_for(lambda: b1.get("/v0/operations/" + op["id"])[1]["stage"] == "heal", 20, 0.05,
                 "the heal at its heal stage")
        st, ans, _ = b1.request("POST", "/fed/v1/handover/default:o2",
                                {"step": "out", "to": child["manager"], "job": "test"})
        self.assertEqual(st, 503, ans)
        self.assertIn("is ending its stage heal; ask again", ans["message"])
        done = b1.wait_op(op["id"], timeout=30)
        self.assertEqual(done["state"], "completed", done)
        self.assertIsNone(b1.deployment("o2").get("operation"))
        for n in names:
            op = cloud.ok("DELETE", "/v0/deployments/" + n, expect=(202,))
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")

    def test_d_a_restart_waiting_out_its_backoff_goes_along(self):
        """A VNF killed just before a drain, its restart waiting out the crash-loop backoff
        (20 s): its new owner restarts it when due, not at once and not never."""
        cloud, b1 = self.cloud, self.b1
        v = demo("ho-rs")
        v["restart"] = {"burst": 0, "window_s": 60, "delay_ms": 20000, "max_delay_s": 60}
        cloud.onboard(v)
        names = ("r1", "r2")
        moved, child, ended = self.one_handed_over("ho-rs", names)
        c1 = api_of(b1, child)
        [vi] = c1.deployment(moved)["vis"]
        os.kill(vi["pid"], signal.SIGKILL)
        died = time.time()
        wait_for(lambda: c1.deployment(moved)["vis"][0].get("restart", {}).get("pending"), 10,
                 0.05, "its restart waiting")
        self.assertEqual(self.put_policy({"overload": 1000, "underload": 1.5, "for_reports": 2,
                                          "cooldown_s": 0, "max": 2,
                                          "weights": VNFS_ONLY})[0], 200)
        d = wait_for(lambda: ended("scale_in"), 180, 0.2, "the drain ended")
        self.assertEqual((d["state"], d["drain"]["moved"]), ("completed", 1), d)
        self.assertLess(time.time() - died, 20, "drained before the restart was due")
        back = b1.deployment(moved)["vis"][0]
        self.assertEqual((back["state"], back["restart"]["delay_ms"]), ("exited", 20000), back)
        # b1 restarts it when it is due
        now = wait_for(lambda: (lambda v: v if v["state"] == "running" else None)(
            b1.deployment(moved)["vis"][0]), 40, 0.1, "restarted by b1")
        self.assertGreater(time.time() - died, 19)
        self.assertNotEqual(now["pid"], vi["pid"])
        self.assertEqual(self.listeners(now["ip"]), [now["pid"]])
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        # the heal's end at b1 (its VI runs before its post_deployment ends), then on the
        # cloud (a report later)
        wait_for(lambda: not b1.deployment(moved).get("operation"), 20, 0.1,
                 "the restart's heal ended")
        wait_for(lambda: not cloud.get("/v0/deployments/" + moved)[1].get("operation"), 20,
                 0.1, "the restart's heal ended, as the cloud sees it")
        for n in names:
            op = cloud.ok("DELETE", "/v0/deployments/" + n, expect=(202,))
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")


if __name__ == "__main__":
    unittest.main()


class HandoverTlsTest(unittest.TestCase):
    """A branch manager that speaks HTTPS only (--tls-cert): the manager it starts gets
    its certificate and key, and the steps of a handover go over HTTPS, each side
    trusting the other by its key (pinned), whatever the certificate's names."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.cloud = cls.pki.cloud().start()
        cls.b = branch(cls.cloud, "bt", join_token(cls.cloud, "bt"), "--tls-cert", cls.pki.cert,
                       "--tls-key", cls.pki.key, ca=cls.pki.ca).start()
        cls.mgr = wait_for(lambda: manager_of(cls.cloud, "bt"), 10, what="bt joined")["id"]

    @classmethod
    def tearDownClass(cls):
        tag, kids = cls.b.tag, child_tags(cls.b)
        try:
            cls.cloud.cleanup()
        finally:
            try:
                cls.b.cleanup()
            finally:
                purge(kids)
                cls.pki.close()
        assert child_cgroups(tag) == [], child_cgroups(tag)

    def test_handover_over_https(self):
        cloud, b = self.cloud, self.b
        self.assertTrue(b.url.startswith("https://"), b.url)
        cloud.onboard(demo("hs-web"))
        names = ("t1", "t2", "t3")
        for name in names:
            op = cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": "hs-web",
                                                      "site": "bt"}, expect=(202,))
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        before = {n: sorted(v["pid"] for v in b.deployment(n)["vis"]) for n in names}
        status, doc, _ = cloud.request("PUT", "/v0/sites/bt/managers", {
            "overload": 1.5, "for_reports": 2, "cooldown_s": 0, "max": 2,
            "weights": VNFS_ONLY})
        self.assertEqual(status, 200, doc)
        d = wait_for(lambda: next((x for x in decisions(cloud) if x["action"] == "scale_out"
                                   and x["state"] in ("completed", "failed")), None), 180, 0.2,
                     "scale out with its handover")
        self.assertEqual(d["state"], "completed", d)
        [plan] = d["handover"]
        self.assertGreaterEqual(plan["moved"], 1, plan)
        self.assertEqual(plan["failed"], 0, plan)
        [new] = d["managers"]
        [kid] = [c for c in cloud.get("/v0/managers/" + self.mgr)[1].get("children", [])
                 if c.get("manager") == new]
        c1 = api_of(b, kid)
        self.assertTrue(c1.url.startswith("https://"), c1.url)
        for x in plan["deployments"]:
            self.assertEqual(sorted(v["pid"] for v in c1.deployment(x["id"])["vis"]),
                             before[x["id"]])
        # the new manager speaks HTTPS only: the steps cannot have gone in plain HTTP
        with self.assertRaises(Exception):
            urllib.request.urlopen("http://127.0.0.1:%d/v0/health" % kid["port"], timeout=5)
