"""A move whose endpoint switch the branch does not apply in time (docs/FEDERATION.md
"Moves", issue 13 "Bad input and faults"): the WAN is cut while the clone starts, but
the cloud still takes the branch for reachable (it allows a minute of silence here), so
the switch goes out and waits on the cut link. After 30 s the move rolls back: the
restore of the endpoint goes out, the switch the branch did not acknowledge is withdrawn,
and the clone goes. When the WAN is back the branch gets the restore alone (never the
switch): the endpoint points at the original, which served its clients all along. Then
the same with a switch the branch applied and whose acknowledgement the cut lost, of a
service with an instance in the cloud (a burst): the restore undoes the switch and
brings the burst back behind the endpoint. Real daemons: the estate of test_move, its
WAN through a delay line (vnfm.py Wan)."""
import json
import time
import unittest

from vnfm import wait_for
from test_fed import manager_of
from test_move import Estate, start_estate, stop_estate, vnfd
from test_burst import SITE_CAPACITY, vnfd as burst_vnfd

# the cloud's rule that scales a deployment out at every report, to its most
GROW = {"name": "grow", "metric": "rps", "op": ">=", "threshold": 0, "occurrences": 1,
        "stage": "overloaded", "cooldown_s": 1, "actions": [{"action": "scale_out"}]}


class SwitchDeadlineTest(Estate, unittest.TestCase):
    SITE = "bd"

    @classmethod
    def setUpClass(cls):
        # reports every second; 60 missed before the branch is unreachable; a WAN
        # through a delay line (none until a test sets one)
        start_estate(cls, cls.SITE, cloud_args=("--fed-missed", "60"), wan_delay_ms=0)
        cls.b.ok("PUT", "/v0/sites/" + cls.SITE, {"capacity": SITE_CAPACITY})

    @classmethod
    def tearDownClass(cls):
        stop_estate(cls)

    def test_switch_not_applied_rolls_back(self):
        cloud, b = self.cloud, self.b
        doc = vnfd("md-slow", command=[
            "sh", "-c", "[ {{site}} = cloud ] && sleep 3; exec vnf-demo --listen {{ip}}:8080 "
            "--config {{day0_dir}}/demo.conf"])
        doc["vdus"][0]["ready"]["timeout_s"] = 20
        ep = self.deploy_at_branch("md1", doc)["service_endpoint"]
        [vi] = b.deployment("md1")["vis"]
        client = self.client(ep)
        op = cloud.ok("POST", "/v0/deployments/md1/move", {"site": "cloud"}, expect=(202,))
        self.at_stage(op["id"], "clone")
        self.wan.down()
        self.at_stage(op["id"], "switch")
        # the clone is ready and the switch went out: the cloud still sees the branch
        [clone] = [d for d in cloud.get("/v0/deployments")[1]["deployments"] if d["id"] != "md1"]
        [cvi] = cloud.deployment(clone["id"])["vis"]
        self.rolled_back_at_the_switch(op["id"])
        self.assertEqual(manager_of(cloud, self.SITE)["state"], "active")
        # the original served through the cut (the switch never reached the branch)
        got = client.result()
        self.assertEqual(got["fail"], 0, got)
        self.assertEqual(set(got["who"]), {vi["name"]}, got)
        # the clone is gone; the deployment stays at the branch
        self.assertEqual([d["id"] for d in cloud.get("/v0/deployments")[1]["deployments"]],
                         ["md1"])
        dep = cloud.deployment("md1")
        self.assertEqual((dep["site"], dep["move"]["state"]), (self.SITE, "rolled_back"))
        # the switch withdrawn: failed on the cloud, and never sent again
        self.assertIn("withdrawn: the move rolled back before the branch applied it",
                      cloud.log())
        before = self.pointed("md1")
        # the WAN back: the restore alone, and the endpoint at the original
        self.wan.up()
        wait_for(lambda: len(self.pointed("md1")) > len(before), 40, 0.2, "the restore applied")
        time.sleep(2)
        self.assertEqual(self.pointed("md1")[len(before):], ["local)"])
        table = self.nft()
        self.assertIn(vi["ip"], table)
        self.assertNotIn(cvi["ip"], table)
        after = self.client(ep)
        time.sleep(2)
        got = after.result()
        self.assertEqual(got["fail"], 0, got)
        self.assertEqual(set(got["who"]), {vi["name"]}, got)
        self.assertEqual([x["name"] for x in b.deployment("md1")["vis"]], [vi["name"]])

    def rolled_back_at_the_switch(self, op_id):
        """The move op_id rolled back after its switch's 30 s: the restore's instruction
        sent after the switch, the clone undeployed."""
        op = self.cloud.wait_op(op_id, timeout=90)
        self.assertEqual(op["state"], "rolled_back", json.dumps(op, indent=1))
        self.assertEqual(op["error"],
                         "the branch's manager did not apply the endpoint switch within 30 s")
        self.assertEqual([(s["stage"], s["result"]) for s in op["stages"]],
                         [("clone", "ok"), ("switch", "failed"), ("restore", "ok"),
                          ("unclone", "ok")])

    def pointed(self, name):
        """The modes the branch's endpoint of name was given, in order."""
        return [x.rsplit("(", 1)[1] for x in self.b.log().splitlines()
                if ":%s points at" % name in x]

    def test_switch_applied_but_not_acknowledged_restores_the_burst(self):
        cloud, b = self.cloud, self.b
        doc = burst_vnfd("md-burst", most=3)  # its instances in the cloud start 2 s late
        doc["vdus"][0]["command"] = [
            "sh", "-c", "[ {{site}} = cloud ] && sleep 2; exec vnf-demo --listen {{ip}}:8080 "
            "--config {{day0_dir}}/demo.conf"]
        doc["vdus"][0]["ready"]["timeout_s"] = 20
        ep = self.deploy_at_branch("md2", doc)["service_endpoint"]
        # the cloud's rules grow it to three: two at the branch (full), one in the cloud
        cloud.ok("PUT", "/v0/deployments/md2/rules", {"rules": [GROW]})
        op = cloud.ok("PUT", "/v0/deployments/md2/rules-owner", {"owner": "cloud"},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")

        def with_burst():
            dep = cloud.deployment("md2")
            burst = (dep.get("burst") or {}).get("deployment")
            return burst if burst and len(dep["vis"]) == 2 and len(cloud.deployment(burst).get(
                "vis", [])) == 1 and not any(cloud.deployment(d).get("operation")
                                             for d in ("md2", burst)) else None
        burst = wait_for(with_burst, 90, 0.2, "md2 at two instances and one in the cloud")
        cloud.ok("PUT", "/v0/deployments/md2/rules", {"rules": []})
        vis = [vi["ip"] for vi in b.deployment("md2")["vis"]]
        [cvi] = cloud.deployment(burst)["vis"]
        wait_for(lambda: all(ip in self.nft() for ip in vis + [cvi["ip"]]), 20, 0.2,
                 "the endpoint at the three instances")
        # a slow WAN: the switch reaches the branch half a second after it went out, and
        # its acknowledgement is as long on the way back: the cut comes then
        self.wan.set_delay(500)
        op = cloud.ok("POST", "/v0/deployments/md2/move", {"site": "cloud"}, expect=(202,))
        self.at_stage(op["id"], "switch")
        wait_for(lambda: self.pointed("md2")[-1:] == ["remote)"], 30, 0.02,
                 "the switch applied at the branch")
        self.wan.down()
        self.wan.set_delay(0)
        [clone] = [d for d in cloud.get("/v0/deployments")[1]["deployments"]
                   if d["id"] not in ("md2", burst)]
        clone_ips = [vi["ip"] for vi in cloud.deployment(clone["id"])["vis"]]
        self.assertEqual(len(clone_ips), 3, clone)  # the branch's two and the burst's
        self.rolled_back_at_the_switch(op["id"])
        before = self.pointed("md2")
        # the WAN back: the restore undoes the switch the branch applied, with the burst
        self.wan.up()
        wait_for(lambda: len(self.pointed("md2")) > len(before), 40, 0.2, "the restore applied")
        self.assertEqual(self.pointed("md2")[len(before):], ["local)"])
        wait_for(lambda: all(ip in self.nft() for ip in vis + [cvi["ip"]]), 30, 0.2,
                 "the endpoint at the three instances again")
        table = self.nft()
        for ip in clone_ips:
            self.assertNotIn(ip, table)
        dep = cloud.deployment("md2")
        self.assertEqual((dep["site"], dep["burst"]["deployment"], dep["move"]["state"]),
                         (self.SITE, burst, "rolled_back"))
        self.assertEqual(sorted(d["id"] for d in cloud.get("/v0/deployments")[1]["deployments"]),
                         sorted(["md2", burst]))
        after = self.client(ep)
        time.sleep(3)
        got = after.result()
        self.assertEqual(got["fail"], 0, got)
        self.assertIn(cvi["name"], got["who"], got)  # the burst answers again


if __name__ == "__main__":
    unittest.main()
