"""Elastic branch managers (docs/FEDERATION.md "Elastic managers", issue 12):
a manager's load with its parts, the manager policy of a branch site on the
cloud, and the decisions it makes: a branch manager overloaded for the
policy's duration starts a real vnfmd at its branch, in a cgroup of its
own, which joins the estate; a lifecycle operation running on it holds the
decision; at the policy's max the decision is refused with the reason;
underloaded, the new manager is stopped and removed. Real daemons: one
cloud, one branch (simulated VIs)."""
import datetime
import glob
import json
import os
import re
import signal
import threading
import time
import unittest
import urllib.request

from vnfm import Daemon, Webhook, free_port, pid_alive, slurp, wait_for
from test_deploy import demo
from test_fed import Pki, branch, join_token, manager_of

NC_PW = "elastic-nc-pw"
NS = "urn:vnfm:params:xml:ns:yang:vnfm"
PARTS = ("vnfs", "vis", "probes_per_s", "ops_running", "ops_queued", "cpu", "memory_mb")
DEFAULT_WEIGHTS = {"vnfs": 0.01, "vis": 0.005, "probes_per_s": 0.002, "ops_running": 0.1,
                   "ops_queued": 0.05, "cpu": 1.0, "memory_mb": 0.0005}
# only the deployments count: one deployment weighs 1
VNFS_ONLY = {p: (1 if p == "vnfs" else 0) for p in PARTS}


def when(text):
    """Seconds since the epoch of a time the API shows."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def decisions(cloud, **kw):
    q = "&".join("%s=%s" % kv for kv in kw.items())
    return cloud.get("/v0/decisions?rule=managers" + ("&" + q if q else ""))[1]["decisions"]


def decision_in(cloud, state, manager=None):
    """The newest manager decision in state (of manager), or None."""
    for d in decisions(cloud):
        if d["state"] == state and (manager is None or d["manager"] == manager):
            return d
    return None


def child_cgroups(tag):
    """The names of the manager VIs (their cgroups, in any controller's hierarchy) of
    the managers the manager of instance tag started."""
    return sorted(set(os.path.basename(p) for p in glob.glob(
        "/sys/fs/cgroup/*/vnfm/%s/mgr-*" % tag) + glob.glob(
        "/sys/fs/cgroup/vnfm/%s/mgr-*" % tag) if os.path.isdir(p)))


def api_of(parent, child):
    """A client of a manager the branch manager parent started (its admin token is in
    its data dir; it speaks HTTPS when parent does, with parent's certificate)."""
    a = Daemon.__new__(Daemon)
    a.url = "%s://127.0.0.1:%d" % ("https" if parent.tls else "http", child["port"])
    a.tls = parent.tls
    a.token = slurp(os.path.join(parent.dir, "managers", child["name"], "admin.token")).strip()
    return a


class ElasticTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()  # the WAN is TLS, as in test_fed.py
        cls.ncport = free_port()
        cls.cloud = cls.pki.cloud("--netconf-listen", "127.0.0.1:%d" % cls.ncport,
                                  "--netconf-user", "admin:" + NC_PW).start()
        cls.b1 = branch(cls.cloud, "b1", join_token(cls.cloud, "b1"), "--site-driver",
                        "sim").start()
        cls.mgr = wait_for(lambda: manager_of(cls.cloud, "b1"), 10, what="b1 joined")["id"]

    @classmethod
    def tearDownClass(cls):
        tag = cls.b1.tag
        for d in (cls.b1, cls.cloud):
            d.cleanup()
        cls.pki.close()
        # the branch stopping stopped the managers it started, and removed their cgroups
        assert child_cgroups(tag) == [], child_cgroups(tag)

    def mgr_view(self, mid):
        return self.cloud.get("/v0/managers/" + mid)[1]

    def netconf_get(self, subtree):
        """The cloud's NETCONF operational data under <vnfm><subtree/></vnfm>."""
        from nc_client import manager  # Debian's python3-ncclient, its <hello> mended
        with manager.connect(host="127.0.0.1", port=self.ncport, username="admin",
                             password=NC_PW, hostkey_verify=False, look_for_keys=False,
                             allow_agent=False, timeout=30) as m:
            return m.get(filter=("subtree", '<vnfm xmlns="%s"><%s/></vnfm>' % (
                NS, subtree))).data_ele

    def netconf_decisions(self):
        """Decision id -> object, as the cloud's NETCONF operational data says."""
        data = self.netconf_get("decisions")
        return {e.findtext("{%s}id" % NS): e.findtext("{%s}object" % NS)
                for e in data.iter("{%s}decision" % NS)}

    def child_of(self, mid):
        """The manager mid as b1's report shows it among the managers b1 started."""
        return next((c for c in self.mgr_view(self.mgr).get("children", [])
                     if c.get("manager") == mid), None)

    def put_policy(self, body, site="b1"):
        return self.cloud.request("PUT", "/v0/sites/%s/managers" % site, body)

    def test_a_load_parts(self):
        m = wait_for(lambda: (lambda v: v if v.get("load") else None)(self.mgr_view(self.mgr)),
                     10, what="a load")
        load = m["load"]
        self.assertEqual(set(load["parts"]), set(PARTS))
        self.assertEqual(load["source"], "process")  # b1 has no cgroup of its own
        self.assertGreater(load["parts"]["memory_mb"], 1)  # its RSS
        self.assertEqual(load["weights"], DEFAULT_WEIGHTS)
        want = sum(DEFAULT_WEIGHTS[p] * load["parts"][p] for p in PARTS)
        self.assertAlmostEqual(load["value"], want, places=6)
        out = self.cloud.ctl("managers")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("probes_per_s=", out.stdout)

    def test_b_policy(self):
        cloud = self.cloud
        bad = [({"overload": 1, "underload": 1}, "underload"),
               ({"overload": 1, "min": 3, "max": 2}, "min"),
               ({"overload": 1, "active": 5, "max": 3}, "active"),
               ({"overload": 1, "standby": -1}, "standby"),
               ({"overload": 1, "max": -2}, "max"),
               ({"overload": 1, "for_reports": 2, "for_s": 5}, "for_s"),
               ({"overload": 1, "lifecycle": "sometimes"}, "lifecycle"),
               ({"overload": 1, "callback": "ftp://orchestrator/x"}, "callback"),
               ({"overload": 1, "active": 3, "max": 3, "standby": 1}, "standby"),
               ({"overload": 1, "weights": {"disk": 1}}, "weights.disk"),
               ({"overload": 1, "bogus": 1}, "bogus"),
               ({"overload": 1, "scale_in": "pause"}, "scale_in"),
               ({"underload": 0.1}, "overload")]
        for body, field in bad:
            status, doc, _ = self.put_policy(body)
            self.assertEqual((status, doc.get("field")), (400, field), (body, doc))
            self.assertIn(field.split(".")[-1], doc["message"])
        self.assertEqual(cloud.get("/v0/sites/b1/managers")[1]["policy"], None)  # unchanged
        self.assertEqual(self.put_policy({"overload": 1}, site="nowhere")[0], 404)
        status, doc, _ = self.put_policy({"overload": 1}, site="cloud")
        self.assertEqual(status, 409, doc)
        # a good one, with the defaults filled in; it survives a restart of the cloud
        status, doc, _ = self.put_policy({"overload": 50, "underload": 0.001, "max": 3,
                                          "lifecycle": "subtract", "weights": {"cpu": 2}})
        self.assertEqual(status, 200, doc)
        pol = doc["policy"]
        self.assertEqual((pol["active"], pol["min"], pol["max"], pol["for_reports"],
                          pol["lifecycle"], pol["scale_in"]), (1, 1, 3, 3, "subtract", "stop"))
        self.assertEqual(doc["weights"]["cpu"], 2)
        self.assertEqual([m["id"] for m in doc["managers"]], [self.mgr])
        cloud.kill9()
        cloud.restart()
        self.assertEqual(cloud.get("/v0/sites/b1/managers")[1]["policy"], pol)
        # weighed with the site's weights, the operations left out (subtract)
        m = wait_for(lambda: (lambda v: v if (v.get("load") or {}).get("weights", {}).get("cpu")
                              == 2 else None)(self.mgr_view(self.mgr)), 10, what="policy weights")
        parts = m["load"]["parts"]
        w = dict(DEFAULT_WEIGHTS, cpu=2)
        self.assertAlmostEqual(m["load"]["value"], sum(
            w[p] * parts[p] for p in PARTS if not p.startswith("ops_")), places=6)
        self.assertIn("with_ops", m["load"])
        # the CLI: --set changes members and keeps the rest
        r = cloud.ctl("-o", "json", "site", "managers", "b1", "--set", "overload=40",
                      "--set", "weights.vnfs=0.5", "--set", "lifecycle=hold")
        self.assertEqual(r.returncode, 0, r.stderr)
        pol = json.loads(r.stdout)["policy"]
        self.assertEqual((pol["overload"], pol["max"], pol["lifecycle"], pol["weights"]),
                         (40, 3, "hold", {"cpu": 2, "vnfs": 0.5}))
        r = cloud.ctl("site", "managers", "b1", "--set", "underload=41")
        self.assertEqual(r.returncode, 1)
        self.assertIn("underload", r.stderr)
        r = cloud.ctl("site", "managers", "b1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("overload", r.stdout)
        self.assertIn(self.mgr, r.stdout)
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)

    def test_c_scale_out_hold_and_in(self):
        cloud, b1 = self.cloud, self.b1
        b1.onboard(demo("el-sim"))
        b1.deploy("e1", "el-sim")
        base = {"overload": 0.5, "for_reports": 2, "cooldown_s": 0, "max": 2,
                "weights": VNFS_ONLY}

        # no room at the branch: the decision says so, with the alternatives
        self.assertEqual(self.put_policy(dict(base, manager={"vcpu": 64}))[0], 200)
        d = wait_for(lambda: decision_in(cloud, "failed", self.mgr), 30, 0.1, "no room")
        self.assertIn("no room at site b1", d["error"])
        self.assertIn("move deployments to the cloud", d["error"])
        self.assertEqual(child_cgroups(b1.tag), [])

        # a lifecycle operation running on the manager holds the decision
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        b1.ok("PUT", "/v0/sites/b1", {"options": {"latency_ms": 4000}})
        op = b1.ok("POST", "/v0/deployments/e1/scale", {"vdu": "web", "count": 2},
                   expect=(202,))
        wait_for(lambda: b1.get("/v0/operations/" + op["id"])[1]["state"] == "processing", 10,
                 0.05, "scale processing")
        self.assertEqual(self.put_policy(dict(base, manager={"vcpu": 1, "memory_mb": 512},
                                              hold_s=3))[0], 200)
        held = wait_for(lambda: decision_in(cloud, "held", self.mgr), 20, 0.1, "held")
        self.assertEqual(held["held_by"], op["id"])
        self.assertIn(op["id"], held["reason"])
        self.assertIn("lifecycle hold", held["reason"])
        self.assertEqual(held["inputs"]["running"], [op["id"]])
        self.assertGreater(held["inputs"]["value"], held["thresholds"]["overload"])
        done = b1.wait_op(op["id"])
        self.assertEqual(done["state"], "completed")
        b1.ok("PUT", "/v0/sites/b1", {"options": {"latency_ms": 0}})

        # taken once the operation ended: a new vnfmd at the branch, in its own cgroup
        d = wait_for(lambda: decision_in(cloud, "completed", self.mgr), 120, 0.2, "scale out")
        self.assertEqual(d["action"], "scale_out")
        self.assertIn("above overload 0.5", d["reason"])
        # taken after the policy's window (hold_s 3) after the operation ended
        self.assertGreaterEqual(when(d["created"]) - when(done["finished"]), 3)
        [new] = d["managers"]
        m = self.mgr_view(new)
        self.assertEqual((m["parent"], m["site"], m["state"]), (self.mgr, "b1", "active"))
        [row] = [r for r in cloud.ctl("managers").stdout.splitlines() if r.startswith(new)]
        self.assertIn(self.mgr, row)  # its parent
        parent = wait_for(lambda: (lambda v: v if any(
            c["state"] == "healthy" for c in v.get("children", [])) else None)(
                self.mgr_view(self.mgr)), 10, what="the child healthy in b1's report")
        [child] = parent["children"]
        self.assertEqual((child["manager"], child["vcpu"], child["memory_mb"]), (new, 1, 512))
        # a manager VI of the host's process VIM (b1's VIs are simulated)
        self.assertEqual(child_cgroups(b1.tag), [child["vi"]])
        procs = set()
        for p in glob.glob("/sys/fs/cgroup/*/vnfm/%s/%s/cgroup.procs" % (b1.tag, child["vi"])):
            procs |= set(int(x) for x in slurp(p).split())
        self.assertIn(child["pid"], procs)
        cmd = slurp("/proc/%d/cmdline" % child["pid"]).split("\0")
        self.assertTrue(cmd[0].endswith("vnfmd"), cmd)
        self.assertIn("--manager-cgroup", cmd)
        data = cmd[cmd.index("--data-dir") + 1]  # its own, not b1's (which is not mirrored)
        self.assertTrue(data.startswith(b1.dir + "/managers/m"), cmd)
        self.assertEqual(cmd[cmd.index("--site") + 1], "b1")
        cpu = glob.glob("/sys/fs/cgroup/cpu/vnfm/%s/%s/cpu.cfs_quota_us" % (b1.tag, child["vi"]))
        if cpu:
            self.assertEqual(slurp(cpu[0]).strip(), "100000")  # 1 vCPU
        # the new manager reports its load from its own cgroup
        nm = wait_for(lambda: (lambda v: v if v.get("load") else None)(self.mgr_view(new)),
                      10, what="the new manager's load")
        self.assertEqual(nm["load"]["source"], "cgroup")
        self.assertIn(new, cloud.get("/v0/sites/b1")[1]["managers"])
        self.check_allocation(new, child)

        # still overloaded, but at the policy's max: refused, with the reason
        d = wait_for(lambda: decision_in(cloud, "refused", self.mgr), 20, 0.1, "refused")
        self.assertIn("the policy's max", d["reason"])
        self.assertIn("--set max=3", d["reason"])
        r = cloud.ctl("decisions", "--rule", "managers")
        self.assertEqual(r.returncode, 0, r.stderr)
        for word in ("held", "refused", "completed", "failed"):
            self.assertIn(word, r.stdout)

        # the branch manager killed with -9 and started again adopts the manager it started
        b1.kill9()
        self.assertTrue(pid_alive(child["pid"]))  # it goes on without its parent
        b1.start()
        adopted = wait_for(lambda: (lambda v: v if v["state"] == "active" and any(
            c["pid"] == child["pid"] and c["state"] == "healthy" for c in v.get("children", []))
            else None)(self.mgr_view(self.mgr)), 30, 0.1, "the child adopted")
        self.assertEqual([c["name"] for c in adopted["children"]], [child["name"]])
        self.assertIn("still runs: adopted", b1.log())
        # both killed: the restarted branch manager starts it again, as the same manager
        b1.kill9()
        os.kill(child["pid"], signal.SIGKILL)
        wait_for(lambda: not pid_alive(child["pid"]), 10, 0.05, "the child killed")
        b1.start()
        again = wait_for(lambda: (lambda v: v if v["state"] == "active" and any(
            c["pid"] != child["pid"] and c["state"] == "healthy" for c in v.get("children", []))
            else None)(self.mgr_view(self.mgr)), 60, 0.1, "the child started again")
        [child] = again["children"]
        self.assertEqual(child["manager"], new)  # its credential was in its data dir
        self.assertIn("started again", b1.log())
        wait_for(lambda: self.mgr_view(new)["state"] == "active", 10, 0.1, "it reports again")
        # killed while its parent runs: its parent starts it again, the same manager
        os.kill(child["pid"], signal.SIGKILL)
        again = wait_for(lambda: (lambda v: v if any(
            c["pid"] not in (0, child["pid"]) and c["state"] == "healthy"
            for c in v.get("children", [])) else None)(self.mgr_view(self.mgr)), 60, 0.1,
            "the child started again by its running parent")
        [child] = again["children"]
        self.assertEqual(child["manager"], new)
        self.assertIn("killed by signal 9; starting it again in 0 ms", b1.log())
        wait_for(lambda: self.mgr_view(new)["state"] == "active", 10, 0.1, "it reports again")

        # underloaded: the new manager is stopped and removed, its cgroup too
        self.assertEqual(self.put_policy(dict(base, overload=5, underload=0.5))[0], 200)
        d = wait_for(lambda: (lambda x: x if x and x["action"] == "scale_in" else None)(
            decision_in(cloud, "completed", new)), 60, 0.2, "scale in")
        self.assertIn("below underload 0.5", d["reason"])
        wait_for(lambda: self.mgr_view(new)["state"] == "removed", 10, 0.1, "removed")
        wait_for(lambda: not pid_alive(child["pid"]), 20, 0.1, "the child gone")
        wait_for(lambda: child_cgroups(b1.tag) == [], 10, 0.1, "its cgroup gone")
        self.assertNotIn(new, cloud.get("/v0/sites/b1")[1]["managers"])

        # fewer managers than the policy's active: one more, whatever the load; the
        # orchestrator hears of the decision at its callback, from spawning to completed
        hook = Webhook()
        self.addCleanup(hook.close)
        self.assertEqual(self.put_policy({"overload": 1000, "active": 2, "max": 2,
                                          "cooldown_s": 0, "callback": hook.url})[0], 200)

        def active_decision():
            return next((d for d in decisions(cloud, state="completed")
                         if "the policy's active is 2" in d["reason"]), None)
        d = wait_for(active_decision, 120, 0.2, "a manager for active 2")
        [third] = d["managers"]
        wait_for(lambda: [x["state"] for x in hook.got if x["id"] == d["id"]] ==
                 ["spawning", "completed"], 10, 0.1, "the callbacks")
        kid = wait_for(lambda: self.child_of(third), 10, 0.1, "the third in b1's report")

        # scaled in with scale_in "standby": the manager is stopped and removed, its VI kept
        # with a standby of the site in it (beyond the policy's M, 0 here), until the next
        # new manager of the site takes its room back
        under = {"overload": 1000, "underload": 0.5, "for_reports": 2, "cooldown_s": 0,
                 "weights": VNFS_ONLY}
        self.assertEqual(self.put_policy(dict(under, scale_in="standby"))[0], 200)
        wait_for(lambda: self.mgr_view(third)["state"] == "removed", 60, 0.2, "scaled in")
        d = wait_for(lambda: (lambda x: x if x and x["action"] == "scale_in" else None)(
            decision_in(cloud, "completed", third)), 30, 0.2, "its scale in completed")
        self.assertIn("its VI kept for a standby of the site (scale_in: standby)", d["reason"])

        def kept():
            return [c for c in self.mgr_view(self.mgr).get("children", [])
                    if c.get("kept") and c["state"] == "standby" and c.get("pid")]
        [sb] = wait_for(kept, 30, 0.2, "the manager's VI kept with a standby")
        self.assertEqual((sb["name"], sb["vi"], sb["memory_mb"]),
                         (kid["name"], kid["vi"], kid["memory_mb"]))
        self.assertNotEqual(sb["pid"], kid["pid"])
        self.assertIn("--standby-for", slurp("/proc/%d/cmdline" % sb["pid"]).split("\0"))
        self.assertEqual(child_cgroups(b1.tag), [kid["vi"]])
        for p in glob.glob("/sys/fs/cgroup/*/vnfm/%s/%s/cgroup.procs" % (b1.tag, kid["vi"])):
            self.assertEqual([int(x) for x in slurp(p).split()], [sb["pid"]], p)
        self.assertEqual(b1.get("/v0/sites/b1")[1]["reserved"],
                         {"vcpu": 1, "memory_mb": 512, "managers": 1})  # its room, held
        time.sleep(1.5)  # not one of the policy's M (0): not stopped as one too many
        self.assertEqual([c["pid"] for c in kept()], [sb["pid"]])
        # the next new manager takes the room back: the standby stops, its VI goes
        self.assertEqual(self.put_policy({"overload": 1000, "active": 2, "max": 2,
                                          "cooldown_s": 0})[0], 200)
        d2 = wait_for(lambda: next((x for x in decisions(cloud, state="completed")
                                    if "the policy's active is 2" in x["reason"] and
                                    x["managers"] != [third]), None),
                      120, 0.2, "another manager for active 2")
        [fourth] = d2["managers"]
        wait_for(lambda: not pid_alive(sb["pid"]), 20, 0.1, "the kept standby stopped")
        kid4 = wait_for(lambda: self.child_of(fourth), 10, 0.1, "the fourth in b1's report")
        wait_for(lambda: child_cgroups(b1.tag) == [kid4["vi"]], 10, 0.1, "the kept VI removed")
        self.assertIn("its room goes to a new manager", b1.log())
        self.assertEqual(self.put_policy(dict(under, scale_in="standby"))[0], 200)
        wait_for(lambda: self.mgr_view(fourth)["state"] == "removed", 60, 0.2, "scaled in")
        [sb4] = wait_for(kept, 30, 0.2, "its VI kept with a standby")
        self.assertEqual(sb4["vi"], kid4["vi"])
        # the policy back to scale_in "stop": the managers kept as standbys go
        self.assertEqual(self.put_policy(under)[0], 200)
        wait_for(lambda: not pid_alive(sb4["pid"]), 20, 0.1, "the kept standby stopped")
        wait_for(lambda: child_cgroups(b1.tag) == [], 10, 0.1, "its VI removed")
        self.assertIn("the site's policy no longer keeps the managers of a scale in", b1.log())
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)

    def check_allocation(self, new, child):
        """The manager started at b1 is part of the site's allocation: at the branch a deploy
        admits against the capacity less the VIs and it, the cloud's record of the site counts
        it, and the site's load on the cloud adds up both managers' reports."""
        cloud, b1 = self.cloud, self.b1
        held = {"vcpu": 1, "memory_mb": 512, "managers": 1}
        site = b1.get("/v0/sites/b1")[1]
        self.assertEqual(site["reserved"], held)
        free = site["capacity"]["vcpu"] - site["allocated"]["vcpu"] - 1
        self.assertAlmostEqual(site["free"]["vcpu"], free, places=3)
        want = round(free + 0.5, 1)  # would fit without the manager
        b1.onboard(demo("el-big", vcpu=want))
        status, err, _ = b1.request("POST", "/v0/deployments",
                                    {"name": "big", "vnfd": "el-big", "site": "b1"})
        self.assertEqual(status, 409, err)
        self.assertIn("after what the site's other managers hold", err["message"])
        self.assertEqual(b1.get("/v0/deployments/big")[0], 404)
        status, err, _ = b1.request("PUT", "/v0/sites/b1", {"capacity": {
            "vcpu": site["allocated"]["vcpu"] + 0.5}})
        self.assertEqual(status, 409, err)
        self.assertIn("and the site's other managers", err["message"])

        # the new manager's admissions count what b1 holds (its VIs and the new manager
        # itself), as the cloud added it up from b1's reports; and b1's count the new one
        kid = api_of(b1, child)

        def others_known(api):
            s = api.get("/v0/sites/b1")[1]
            return s if s.get("others", {}).get("managers") == 1 else None
        ks = wait_for(lambda: others_known(kid), 10, 0.1, "the new manager knows b1's share")
        self.assertAlmostEqual(ks["others"]["vcpu"], site["allocated"]["vcpu"] + 1, places=3)
        self.assertAlmostEqual(ks["free"]["vcpu"], site["free"]["vcpu"], places=3)
        kid.ok("POST", "/v0/vnfds", demo("el-big", vcpu=want))
        status, err, _ = kid.request("POST", "/v0/deployments",
                                     {"name": "big", "vnfd": "el-big", "site": "b1"})
        self.assertEqual(status, 409, err)
        self.assertIn("after what the site's other managers hold", err["message"])
        bs = wait_for(lambda: others_known(b1), 10, 0.1, "b1 knows the new manager's share")
        self.assertEqual(bs["others"], {"vcpu": 0, "memory_mb": 0, "managers": 1})  # no VIs

        def cloud_counts():
            s = cloud.get("/v0/sites/b1")[1]
            return s if s.get("reserved") == held else None
        s = wait_for(cloud_counts, 10, 0.1, "the cloud's record counts the manager")
        self.assertAlmostEqual(s["allocated"]["vcpu"], site["allocated"]["vcpu"] + 1, places=3)
        [nc] = [x for x in self.netconf_get("sites").iter("{%s}site" % NS)
                if x.findtext("{%s}id" % NS) == "b1"]
        self.assertEqual((nc.findtext("{%s}reserved/{%s}memory-mb" % (NS, NS)),
                          nc.findtext("{%s}reserved/{%s}managers" % (NS, NS))), ("512", "1"))
        self.assertEqual(nc.findtext("{%s}vim-health" % NS), "ok")  # b1's own check, an enum

        def summed():
            load = cloud.get("/v0/sites/b1/pool")[1].get("load") or {}
            return load if new in load.get("members", []) else None
        load = wait_for(summed, 10, 0.1, "the site's load with both managers")
        self.assertEqual(load["members"][0], self.mgr)  # the first manager first
        mgrs = load["parts"]["managers"]
        self.assertEqual(mgrs["allocated"], {"vcpu": 1, "memory_mb": 512, "disk_mb": 0})
        self.assertGreater(mgrs["used"]["memory_mb"], 1)  # its cgroup's memory
        self.assertAlmostEqual(load["used"]["memory_mb"], load["parts"]["vis"]["used"][
            "memory_mb"] + mgrs["used"]["memory_mb"], places=3)
        self.assertAlmostEqual(load["allocated"]["vcpu"], load["parts"]["vis"]["allocated"][
            "vcpu"] + 1, places=3)

    def test_d_relative_to_peers(self):
        """Among three managers, a threshold relative to the highest peer picks the busiest."""
        cloud, b1 = self.cloud, self.b1
        self.assertEqual(self.put_policy({"overload": 1000, "active": 3, "max": 3,
                                          "cooldown_s": 0})[0], 200)
        d = wait_for(lambda: next((x for x in decisions(cloud, state="completed")
                                   if "the policy's active is 3" in x["reason"]), None),
                     120, 0.2, "two managers for active 3")
        self.assertEqual((d["count"], len(d["managers"])), (2, 2))
        kids = wait_for(lambda: (lambda v: v if sum(
            c["state"] == "healthy" for c in v.get("children", [])) == 2 else None)(
                self.mgr_view(self.mgr)), 30, 0.1, "two children healthy")["children"]
        busy = [c for c in kids if c["state"] == "healthy"][0]
        # two deployments on one of them, through its own API
        tok = slurp(os.path.join(b1.dir, "managers", busy["name"], "admin.token")).strip()
        url = "http://127.0.0.1:%d" % busy["port"]
        a = Daemon.__new__(Daemon)
        a.url, a.token, a.tls = url, tok, None
        a.onboard(demo("el-sim2"))
        for name in ("r1", "r2"):
            a.deploy(name, "el-sim2")
        wait_for(lambda: (self.mgr_view(busy["manager"]).get("load") or {}).get("parts", {})
                 .get("vnfs") == 2, 10, 0.1, "its load")
        before = {x["id"] for x in decisions(cloud)}
        self.assertEqual(self.put_policy({"overload": 0.5, "relative": {"within_pct": 10},
                                          "active": 3, "max": 3, "for_reports": 2,
                                          "cooldown_s": 0, "weights": VNFS_ONLY})[0], 200)
        # b1 (1 deployment) is above 0.5 but not within 10% of 2: only the busy one decides
        d = wait_for(lambda: decision_in(cloud, "refused", busy["manager"]), 20, 0.1, "refused")
        self.assertIn("within 10% of the site's highest 2.000", d["reason"])
        # over NETCONF, a decision of the manager policy is about its site
        self.assertEqual(self.netconf_decisions().get(d["id"]), "site/b1")
        # and /metrics counts refused decisions
        req = urllib.request.Request(cloud.url + "/metrics",
                                     headers={"Authorization": "Bearer " + cloud.token})
        with urllib.request.urlopen(req, timeout=10, context=cloud.tls) as r:
            refused = [l for l in r.read().decode().splitlines()
                       if l.startswith('vnfm_decisions{state="refused"}')]
        self.assertTrue(refused and float(refused[0].split()[1]) >= 1, refused)
        time.sleep(2)  # reports of b1 meanwhile: none made a decision
        new = [x for x in decisions(cloud) if x["id"] not in before]
        self.assertEqual([x["manager"] for x in new], [busy["manager"]], new)
        # rise.to must be above overload
        status, doc, _ = self.put_policy({"overload": 1, "rise": {"peers": 1, "above": 1,
                                                                  "to": 1}})
        self.assertEqual((status, doc.get("field")), (400, "rise.to"), doc)
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        for name in ("r1", "r2"):
            op = a.ok("DELETE", "/v0/deployments/" + name, expect=(202,))
            a.wait_op(op["id"])
        wait_for(lambda: cloud.get("/v0/deployments/r1")[0] == 404, 10, 0.1, "r1 gone")

    def test_dd_two_managers_admit_at_once(self):
        """Two managers of b1 admitting at once count each other at once (the site's ledger
        on its host, docs/FEDERATION.md "A site's allocation"), not a report interval later
        through the cloud: of two deployments that each fit but not both, one is admitted
        and the other refused."""
        b1 = self.b1
        kids = wait_for(lambda: [c for c in self.mgr_view(self.mgr).get("children", [])
                                 if c["state"] == "healthy"] or None, 120, 0.2,
                        "a healthy manager started by b1")
        kid = api_of(b1, kids[0])

        def same_free():
            a, b = (api.get("/v0/sites/b1")[1]["free"]["vcpu"] for api in (b1, kid))
            return a if abs(a - b) < 1e-3 else None
        free = wait_for(same_free, 20, 0.2, "b1 and the manager it started agree on what is free")
        want = round(free * 0.6, 2)  # one fits, two do not
        for api in (b1, kid):
            api.ok("POST", "/v0/vnfds", demo("el-half", vcpu=want))
        res = {}

        def deploy(api, name):
            res[name] = (api, api.request("POST", "/v0/deployments",
                                          {"name": name, "vnfd": "el-half", "site": "b1"}))
        ts = [threading.Thread(target=deploy, args=a) for a in ((b1, "h1"), (kid, "h2"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(sorted(r[1][0] for r in res.values()), [202, 409], res)
        for name, (api, (status, doc, _)) in res.items():
            if status == 409:
                self.assertIn("after what the site's other managers hold", doc["message"])
                self.assertEqual(api.get("/v0/deployments/" + name)[0], 404)
            else:
                self.assertEqual(api.wait_op(doc["id"])["state"], "completed")
                op = api.ok("DELETE", "/v0/deployments/" + name, expect=(202,))
                self.assertEqual(api.wait_op(op["id"])["state"], "completed")

    @unittest.skipUnless("san" in os.environ.get("BUILD", ""), "a sanitizer build's memory")
    def test_e_never_healthy(self):
        """A new manager that dies before it is healthy (a 16 MB memory limit, far below what
        a sanitizer build of vnfmd takes to start: the kernel kills it): the decision fails
        with the reason, its cgroup goes, b1 serves on."""
        cloud, b1 = self.cloud, self.b1
        b1.onboard(demo("el-sim3"))
        b1.deploy("f1", "el-sim3")
        self.assertEqual(self.put_policy({"overload": 0.5, "max": 4, "for_reports": 2,
                                          "cooldown_s": 0, "weights": VNFS_ONLY,
                                          "manager": {"vcpu": 1, "memory_mb": 16}})[0], 200)
        d = wait_for(lambda: next((x for x in decisions(cloud, state="failed")
                                   if "before it was healthy" in x.get("error", "")), None),
                     120, 0.2, "the failed start")
        self.assertIn("killed by signal 9 before it was healthy", d["error"])
        name = re.search(r"manager (m[0-9a-f]{6}) at the branch failed", d["error"]).group(1)
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        # the VIs of those that failed are removed (while the policy held, new ones started)
        failed = wait_for(lambda: (lambda f: f if name in f else None)(
            {c["name"]: c["vi"] for c in self.mgr_view(self.mgr).get("children", [])
             if c["state"] == "failed"}), 10, 0.1, "the failed managers in b1's report")
        wait_for(lambda: not set(failed.values()) & set(child_cgroups(b1.tag)), 30, 0.1,
                 "their VIs removed")
        op = b1.ok("DELETE", "/v0/deployments/f1", expect=(202,))
        self.assertEqual(b1.wait_op(op["id"])["state"], "completed")  # b1 serves on


    def test_f_cooldown_survives_a_restart(self):
        """The cooldown after a decision is not cut short by a kill -9 of the cloud: it
        starts from the last decision in the store, while the branch stays overloaded."""
        cloud, b1 = self.cloud, self.b1
        b1.onboard(demo("el-sim4"))
        b1.deploy("g1", "el-sim4")
        pol = {"overload": 0.5, "max": 4, "for_reports": 2, "cooldown_s": 0,
               "weights": VNFS_ONLY, "manager": {"vcpu": 0.1, "memory_mb": 16}}

        def taken():  # scale outs decided (a held or refused one starts no cooldown)
            return [x for x in decisions(cloud) if x["action"] == "scale_out"
                    and x["state"] not in ("held", "refused")]

        known = {x["id"] for x in taken()}
        self.assertEqual(self.put_policy(pol)[0], 200)
        wait_for(lambda: [x for x in taken() if x["id"] not in known], 120, 0.2,
                 "a scale out decided")
        pol["cooldown_s"] = 600  # from the last decision on
        self.assertEqual(self.put_policy(pol)[0], 200)
        wait_for(lambda: all(x["state"] in ("completed", "failed") for x in taken()), 120, 0.2,
                 "the scale outs ended")
        known = {x["id"] for x in taken()}
        cloud.kill9()
        cloud.restart()
        wait_for(lambda: self.mgr_view(self.mgr).get("state") == "active", 30, 0.2,
                 "b1's manager back")
        time.sleep(6)  # several reports of an overloaded b1, within the cooldown
        self.assertEqual([x["id"] for x in taken() if x["id"] not in known], [])
        # the manager's view says how long the cooldown still holds
        left = self.mgr_view(self.mgr)["judged"]["cooldown_left_s"]
        self.assertTrue(500 < left <= 600, left)
        # without the cooldown the overload is judged again: a new decision (room for one
        # more manager: on a build whose 16 MB managers live, the first decisions
        # may have reached the max)
        pol["cooldown_s"] = 0
        pol["max"] = 1 + len([m for m in cloud.get("/v0/managers")[1]["managers"]
                              if m["site"] == "b1" and m.get("state") != "removed"])
        self.assertEqual(self.put_policy(pol)[0], 200)
        wait_for(lambda: self.mgr_view(self.mgr)["judged"]["cooldown_left_s"] == 0, 30, 0.2,
                 "no cooldown left")
        wait_for(lambda: [x for x in taken() if x["id"] not in known], 120, 0.2,
                 "a scale out decided after the cooldown")
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        op = b1.ok("DELETE", "/v0/deployments/g1", expect=(202,))
        self.assertEqual(b1.wait_op(op["id"])["state"], "completed")

    def test_g_a_handover_that_moves_nothing_fails(self):
        """A scale out whose new manager took none of its share (the simulated VIM cannot
        move a VI: the step out refuses) fails, naming why: the overload stays."""
        cloud, b1 = self.cloud, self.b1
        b1.onboard(demo("el-sim5"))
        names = ("k1", "k2", "k3")
        for name in names:
            b1.deploy(name, "el-sim5")
        known = {x["id"] for x in decisions(cloud)}
        self.assertEqual(self.put_policy({"overload": 1.5, "for_reports": 2, "cooldown_s": 0,
                                          "max": 8, "weights": VNFS_ONLY})[0], 200)
        d = wait_for(lambda: next((x for x in decisions(cloud) if x["id"] not in known and
                                   x["action"] == "scale_out" and x.get("handover") and
                                   x["state"] in ("completed", "failed")), None),
                     180, 0.2, "a scale out with a handover, ended")
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        self.assertEqual(d["state"], "failed", d)
        [plan] = d["handover"]
        self.assertEqual(plan["moved"], 0, plan)
        self.assertGreater(plan["failed"], 0, plan)
        self.assertIn("the overloaded manager keeps its load", d["error"])
        for name in names:  # they stayed, at b1
            self.assertEqual(b1.deployment(name)["status"], "active")
            op = b1.ok("DELETE", "/v0/deployments/" + name, expect=(202,))
            self.assertEqual(b1.wait_op(op["id"])["state"], "completed")

    def test_h_parent_killed_before_its_new_manager_joined(self):
        """The branch manager and the manager it is starting both killed -9 before the new
        one joined (its join token was in its command line only): after the restart the
        new manager is failed, not started again without a token; its VI goes and the
        cloud's decision fails with the reason."""
        cloud, b1 = self.cloud, self.b1
        b1.onboard(demo("el-sim6"))
        b1.deploy("h1", "el-sim6")
        b1.deploy("h2", "el-sim6")
        known = {x["id"] for x in decisions(cloud)}
        before = set(child_cgroups(b1.tag))

        def new_process():
            for vi in set(child_cgroups(b1.tag)) - before:
                for p in glob.glob("/sys/fs/cgroup/*/vnfm/%s/%s/cgroup.procs" % (b1.tag, vi)):
                    pids = slurp(p).split()
                    if pids:
                        return vi, int(pids[0])
            return None

        self.assertEqual(self.put_policy({"overload": 1.5, "for_reports": 2, "cooldown_s": 0,
                                          "max": 8, "weights": VNFS_ONLY,
                                          "manager": {"vcpu": 1, "memory_mb": 512}})[0], 200)
        vi, pid = wait_for(new_process, 60, 0.002, "the new manager's process in its VI")
        os.kill(pid, signal.SIGSTOP)  # long before it could have joined
        self.assertEqual(self.put_policy({"overload": 1000})[0], 200)
        b1.kill9()
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not pid_alive(pid), 10, 0.05, "the new manager killed")
        unjoined = [m for m in glob.glob(os.path.join(b1.dir, "managers", "m*"))
                    if not os.path.exists(os.path.join(m, "fed.json"))]
        self.assertTrue(unjoined, "the new manager joined before it was stopped")
        logged = len(b1.log())
        b1.start()
        d = wait_for(lambda: next((x for x in decisions(cloud) if x["id"] not in known and
                                   x["state"] in ("completed", "failed")), None),
                     60, 0.2, "the decision ended")
        self.assertEqual(d["state"], "failed", d)
        self.assertIn("ended before it joined", d["error"])
        wait_for(lambda: vi not in child_cgroups(b1.tag), 30, 0.1, "its VI removed")
        self.assertIn("did not start: the manager that started it ended before it joined",
                      b1.log()[logged:])
        self.assertNotIn("started again (port", b1.log()[logged:])
        for name in ("h1", "h2"):  # the restart's heal of their VIs (sim VIM) ended first
            wait_for(lambda: not b1.deployment(name).get("operation"), 60, 0.2,
                     name + " without an operation")
            op = b1.ok("DELETE", "/v0/deployments/" + name, expect=(202,))
            self.assertEqual(b1.wait_op(op["id"])["state"], "completed")
        # the restarted branch's reports reach the cloud: its view follows
        wait_for(lambda: not {"h1", "h2"} & {d["id"] for d in cloud.get(
            "/v0/deployments")[1]["deployments"]}, 30, 0.2, "h1 and h2 gone from the cloud's view")


if __name__ == "__main__":
    unittest.main()
