"""The cloud's rules over what branches report (docs/FEDERATION.md "Cloud
rules over branch reports", issue 11 claims 3-4): a rule on the cloud
watches a branch VNF's load as its branch manager reports it and scales
the VNF out at the branch under real load (wrk) and back in; one owner
decides per deployment (the branch's rules or the cloud's, never both,
and the branch takes its rules back while the cloud is away); the cloud
asks a branch for a report now (pull). Real daemons: one cloud, a branch
with the process VIM running real VNFs, a simulated branch."""
import os
import signal
import subprocess
import time
import unittest

from vnfm import wait_for
from test_fed import Pki, branch, join_token, manager_of
from test_monitor import monitored

PULL_INTERVAL_MS = 20000  # b2 reports this seldom by itself: what comes sooner was pulled


def vnfd(vnfd_id):
    """vnf-demo with its requests per second probed, and the branch's own rules: they
    would scale out at a lower load than the cloud's, so that it shows who decided."""
    return monitored(vnfd_id, {
        "rps": {"probe": "http", "port": 8080, "path": "/stats",
                "json": "requests_per_s_1s", "aggregate": "max"}}, [
        {"name": "branch-busy", "metric": "rps", "op": ">", "threshold": 30,
         "occurrences": 2, "stage": "overloaded", "cooldown_s": 1,
         "actions": [{"action": "scale_out"}]}],
        scaling={"min": 1, "max": 2})


CLOUD_RULES = [
    {"name": "busy", "metric": "rps", "op": ">", "threshold": 100, "occurrences": 2,
     "stage": "overloaded", "cooldown_s": 1, "actions": [{"action": "scale_out"}]},
    {"name": "idle", "metric": "rps", "op": "<", "threshold": 10, "occurrences": 3,
     "stage": "underloaded", "cooldown_s": 1, "actions": [{"action": "scale_in"}]}]


class FedRulesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()  # the WAN is TLS (test_fed.py)
        cls.cloud = cls.pki.cloud("--fed-missed", "30").start()
        cls.b1 = branch(cls.cloud, "r1", join_token(cls.cloud, "r1")).start()
        cls.b2 = branch(cls.cloud, "r2", join_token(cls.cloud, "r2"), "--site-driver", "sim",
                        "--fed-report-interval-ms", str(PULL_INTERVAL_MS)).start()

    @classmethod
    def tearDownClass(cls):
        for d in (cls.b1, cls.b2, cls.cloud):
            if d.proc and d.proc.poll() is None:
                try:
                    os.kill(d.proc.pid, signal.SIGCONT)
                except OSError:
                    pass
            d.cleanup()
        cls.pki.close()

    def tearDown(self):
        for b in (self.b1, self.b2):
            if b.proc and b.proc.poll() is None:
                b.undeploy_all()

    def decisions(self, d, dep):
        return d.get("/v0/decisions?deployment=%s" % dep)[1]["decisions"]

    def deploy_at(self, site, name, vnfd_id):
        op = self.cloud.ok("POST", "/v0/deployments",
                           {"name": name, "vnfd": vnfd_id, "site": site}, expect=(202,))
        self.assertEqual(self.cloud.wait_op(op["id"])["state"], "completed")

    def give_to_cloud(self, name):
        """The operator gives the deployment's rules to the cloud: an instruction the
        branch applies; the cloud's rules act once the branch reported it."""
        op = self.cloud.ok("PUT", "/v0/deployments/%s/rules-owner" % name, {"owner": "cloud"},
                           expect=(202,))
        self.assertEqual((op["type"], op["site"]), ("rules_owner", "r1"))
        self.assertEqual(self.cloud.wait_op(op["id"])["state"], "completed")
        dep = wait_for(lambda: (lambda d: d if d.get("rules_owner") == "cloud" else None)(
            self.cloud.deployment(name)), 5, 0.05, "rules_owner cloud on the cloud")
        mine = self.b1.deployment(name)
        self.assertEqual((mine["rules_owner"], mine["rules_owner_set"]), ("cloud", "cloud"))
        self.assertEqual(dep["rules_owner_gen"], mine["rules_owner_gen"])
        return dep

    def test_cloud_rule_scales_a_branch_vnf_out_and_in(self):
        cloud, b1 = self.cloud, self.b1
        cloud.onboard(vnfd("fr-load"))
        self.deploy_at("r1", "fr1", "fr-load")
        cloud.ok("PUT", "/v0/deployments/fr1/rules", {"rules": CLOUD_RULES})
        self.give_to_cloud("fr1")
        [first] = cloud.deployment("fr1")["vis"]
        wrk = subprocess.Popen(["wrk", "-t1", "-c4", "-d60s", "http://%s:8080/" % first["ip"]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def grown():
            dep = cloud.deployment("fr1")
            return len(dep["vis"]) == 2 and not dep.get("operation") and dep
        try:
            wait_for(grown, 40, 0.1, "a scale-out decided by the cloud")
        finally:
            wrk.kill()
            wrk.wait()
        self.assertEqual(len(b1.deployment("fr1")["vis"]), 2)  # done at the branch
        [out] = [d for d in self.decisions(cloud, "fr1") if d["rule"] == "busy"]
        self.assertEqual((out["stage"], out["automatic"]), ("overloaded", True))
        inputs = out["inputs"]
        m = manager_of(cloud, "r1")
        self.assertEqual((inputs["manager"], inputs["site"], inputs["metric"]),
                         (m["id"], "r1", "rps"))
        self.assertGreater(inputs["value"], 100)
        self.assertGreater(inputs["values"]["rps"], 100)  # what the report said
        self.assertGreater(inputs["report_seq"], 0)
        self.assertGreaterEqual(inputs["report_to_decision_us"], 0)
        self.assertIn("as manager %s of site r1 reported" % m["id"], out["reason"])
        [act] = out["actions"]
        self.assertEqual((act["action"], act["state"]), ("scale_out", "completed"))
        op = cloud.get("/v0/operations/%s" % act["operation"])[1]
        self.assertEqual((op["type"], op["decision"], op["state"]),
                         ("scale", out["id"], "completed"))
        # back in once the load is gone
        wait_for(lambda: len(cloud.deployment("fr1")["vis"]) == 1 and
                 any(d["rule"] == "idle" and d["state"] == "completed"
                     for d in self.decisions(cloud, "fr1")), 40, 0.2,
                 "a scale-in decided by the cloud")
        self.assertEqual(len(b1.deployment("fr1")["vis"]), 1)
        # the branch's own rules (a lower threshold) never acted meanwhile
        self.assertEqual(self.decisions(b1, "fr1"), [])
        self.assertIn("fr1", cloud.ctl("decisions").stdout)

    def test_owner_taken_back_while_the_cloud_is_away(self):
        cloud, b1 = self.cloud, self.b1
        cloud.onboard(vnfd("fr-cut"))
        self.deploy_at("r1", "fr2", "fr-cut")
        gen = self.give_to_cloud("fr2")["rules_owner_gen"]
        os.kill(cloud.proc.pid, signal.SIGSTOP)  # no answer: as a cut WAN, for the branch
        try:
            dep = wait_for(lambda: (lambda d: d if d["rules_owner"] == "branch" else None)(
                b1.deployment("fr2")), 15, 0.1, "the branch takes its rules back")
            self.assertEqual((dep["rules_owner_set"], dep["rules_owner_gen"]), ("cloud", gen + 1))
            # its own rules heal and scale alone meanwhile
            [vi] = dep["vis"]
            wrk = subprocess.Popen(["wrk", "-t1", "-c4", "-d30s", "http://%s:8080/" % vi["ip"]],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: any(d["rule"] == "branch-busy"
                                     for d in self.decisions(b1, "fr2")), 30, 0.2,
                         "a decision of the branch's own rules")
            finally:
                wrk.kill()
                wrk.wait()
        finally:
            os.kill(cloud.proc.pid, signal.SIGCONT)
        dep = wait_for(lambda: (lambda d: d if d["rules_owner"] == "cloud" else None)(
            b1.deployment("fr2")), 15, 0.1, "the rules given back to the cloud")
        self.assertEqual(dep["rules_owner_gen"], gen + 2)
        wait_for(lambda: cloud.deployment("fr2").get("rules_owner_gen") == gen + 2, 5, 0.1,
                 "the cloud sees the new generation")
        # an operator takes them back for good, from the cloud's CLI
        out = cloud.ctl("rules-owner", "fr2", "branch")
        self.assertEqual(out.returncode, 0, out.stderr)
        [op] = [o for o in cloud.get("/v0/operations?deployment=fr2")[1]["operations"]
                if o["type"] == "rules_owner" and o["id"] in out.stdout]
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        dep = b1.deployment("fr2")
        self.assertEqual((dep["rules_owner"], dep["rules_owner_set"], dep["rules_owner_gen"]),
                         ("branch", "branch", gen + 3))
        # and a cloud rule never decided for it
        self.assertEqual(self.decisions(cloud, "fr2"), [])

    def test_bad_rules_and_owners(self):
        cloud = self.cloud
        cloud.onboard(vnfd("fr-bad"))
        self.deploy_at("r1", "fr3", "fr-bad")
        for rules, field in (
                ([dict(CLOUD_RULES[0], metric="nope")], "rules[0].metric"),
                ([dict(CLOUD_RULES[0], actions=[{"action": "heal"}])], "rules[0].actions[0].action"),
                ([dict(CLOUD_RULES[0], scope="vi")], "rules[0].scope"),
                ([dict(CLOUD_RULES[0], actions=[{"action": "scale_out", "vdu": "db"}])],
                 "rules[0].actions[0].vdu")):
            status, doc, _ = cloud.request("PUT", "/v0/deployments/fr3/rules", {"rules": rules})
            self.assertEqual((status, doc.get("field")), (400, field), doc)
        status, doc, _ = cloud.request("PUT", "/v0/deployments/fr3/rules",
                                       {"monitoring": {"metrics": {}}})
        self.assertEqual((status, doc.get("field")), (400, "monitoring"), doc)
        self.assertNotIn("rules", cloud.deployment("fr3"))  # nothing written
        # the load of the manager and of the site are targets too
        cloud.ok("PUT", "/v0/deployments/fr3/rules", {"rules": [
            dict(CLOUD_RULES[0], metric="manager.load", threshold=0.95),
            dict(CLOUD_RULES[1], metric="site.load", threshold=0.01)]})
        self.assertEqual([r["metric"] for r in cloud.deployment("fr3")["rules"]],
                         ["manager.load", "site.load"])
        status, doc, _ = cloud.request("PUT", "/v0/deployments/fr3/rules-owner",
                                       {"owner": "nobody"})
        self.assertEqual((status, doc.get("field")), (400, "owner"), doc)
        status, doc, _ = cloud.request("PUT", "/v0/deployments/nope/rules-owner",
                                       {"owner": "cloud"})
        self.assertEqual(status, 404, doc)
        # a deployment of the cloud's own site: its rules are the cloud's own already
        cloud.deploy("fr4", "fr-bad")
        try:
            status, doc, _ = cloud.request("PUT", "/v0/deployments/fr4/rules-owner",
                                           {"owner": "cloud"})
            self.assertEqual((status, doc.get("field")), (409, "owner"), doc)
        finally:
            cloud.undeploy_all()

    def test_a_name_the_cloud_has(self):
        """A branch deployment named like one of the cloud's own is not mirrored over it,
        and the cloud says so once (not at every report)."""
        cloud, b2 = self.cloud, self.b2
        cloud.onboard(vnfd("fr-dup"))
        cloud.deploy("dup1", "fr-dup")
        try:
            b2.onboard(vnfd("fr-dup"))
            b2.deploy("dup1", "fr-dup")
            m = manager_of(cloud, "r2")
            for _ in range(2):  # two more reports (r2's own come every 20 s)
                doc = cloud.ok("POST", "/v0/managers/%s/report" % m["id"], expect=(202,))
                wait_for(lambda: manager_of(cloud, "r2")["reports"] > doc["reports"], 10, 0.05,
                         "a report of r2")
            dep = cloud.deployment("dup1")
            self.assertEqual(dep["site"], "cloud")
            self.assertNotIn("manager", dep)
            self.assertEqual(cloud.log().count("deployment dup1 of manager %s (site r2) is not "
                                               "mirrored" % m["id"]), 1)
        finally:
            cloud.undeploy_all()

    def test_pull_report(self):
        cloud = self.cloud
        # its first report, and the one its channel asked for at once (not 20 s later)
        m = wait_for(lambda: (lambda m: m if m and m["reports"] >= 2 else None)(
            manager_of(cloud, "r2")), 10, 0.1, "r2's first report and its channel's")
        def settled():
            n = manager_of(cloud, "r2")["reports"]
            time.sleep(0.3)
            return manager_of(cloud, "r2")["reports"] == n and n
        n = wait_for(settled, 10, 0.1, "r2 quiet")
        for _ in range(2):  # its own come every 20 s: three in a row were pulled
            doc = cloud.ok("POST", "/v0/managers/%s/report" % m["id"], expect=(202,))
            self.assertEqual((doc["manager"], doc["site"]), (m["id"], "r2"))
            wait_for(lambda: manager_of(cloud, "r2")["reports"] > n, 3, 0.05,
                     "the pulled report")
            n = manager_of(cloud, "r2")["reports"]
        out = cloud.ctl("manager", "report", m["id"])
        self.assertEqual(out.returncode, 0, out.stderr)
        wait_for(lambda: manager_of(cloud, "r2")["reports"] > n, 3, 0.05, "the pulled report")
        status, doc, _ = cloud.request("POST", "/v0/managers/mgr-nope/report")
        self.assertEqual(status, 404, doc)
        self.assertEqual(cloud.request("POST", "/v0/managers/%s/report" % m["id"],
                                       token="nope")[0], 401)


if __name__ == "__main__":
    unittest.main()
