"""A move whose endpoint switch the branch does not apply in time (docs/FEDERATION.md
"Moves", issue 13 "Bad input and faults"): the WAN is cut while the clone starts, but
the cloud still takes the branch for reachable (it allows a minute of silence here), so
the switch goes out and waits on the cut link. After 30 s the move rolls back: the
restore of the endpoint goes out, the switch the branch did not acknowledge is withdrawn,
and the clone goes. When the WAN is back the branch gets the restore alone (never the
switch): the endpoint points at the original, which served its clients all along. Real
daemons: the estate of test_move."""
import json
import time
import unittest

from vnfm import wait_for
from test_fed import manager_of
from test_move import Estate, start_estate, stop_estate, vnfd


class SwitchDeadlineTest(Estate, unittest.TestCase):
    SITE = "bd"

    @classmethod
    def setUpClass(cls):
        # reports every second; 60 missed before the branch is unreachable
        start_estate(cls, cls.SITE, cloud_args=("--fed-missed", "60"))

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
        op = cloud.wait_op(op["id"], timeout=90)
        self.assertEqual(op["state"], "rolled_back", json.dumps(op, indent=1))
        self.assertEqual(op["error"],
                         "the branch's manager did not apply the endpoint switch within 30 s")
        # (restore: its instruction sent, after the switch; unclone: the clone undeployed)
        self.assertEqual([(s["stage"], s["result"]) for s in op["stages"]],
                         [("clone", "ok"), ("switch", "failed"), ("restore", "ok"),
                          ("unclone", "ok")])
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

        def pointed():
            return [x.rsplit("(", 1)[1] for x in b.log().splitlines() if ":md1 points at" in x]

        before = pointed()
        # the WAN back: the restore alone, and the endpoint at the original
        self.wan.up()
        wait_for(lambda: len(pointed()) > len(before), 40, 0.2, "the restore applied")
        time.sleep(2)
        self.assertEqual(pointed()[len(before):], ["local)"])
        table = self.nft()
        self.assertIn(vi["ip"], table)
        self.assertNotIn(cvi["ip"], table)
        after = self.client(ep)
        time.sleep(2)
        got = after.result()
        self.assertEqual(got["fail"], 0, got)
        self.assertEqual(set(got["who"]), {vi["name"]}, got)
        self.assertEqual([x["name"] for x in b.deployment("md1")["vis"]], [vi["name"]])


if __name__ == "__main__":
    unittest.main()
