"""Warm VIs (proc VIM option warm_vis, docs/VIM_PROC.md): a site keeps
namespaces, veth pairs and cgroups made in advance; a deploy takes one and
gives it the VI's names, address and limits, and the manager makes a new one
in the background. Seen from the host and from the API: the VI's namespace
is a slot made before the deploy, it answers and has its limits, the site
view counts the slots, a stop removes them, and a kill -9 leaves them to the
next start, which removes them and makes new ones."""
import os
import subprocess
import unittest

from vnfm import VNFMD, Daemon, http_get, slurp, wait_for
from test_deploy import demo


def inode(name):
    return os.stat("/run/netns/" + name).st_ino


class WarmTest(unittest.TestCase):

    def setUp(self):
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.cleanup()

    def warm(self):
        return self.d.get("/v0/sites/" + self.d.site)[1].get("warm_vis")

    def wait_ready(self, n=2):
        wait_for(lambda: self.warm() == {"target": n, "ready": n} and
                 len(self.d.netns(slots=True)) == n, 20, what="%d warm VIs" % n)

    def test_deploy_takes_a_warm_vi_and_the_site_makes_another(self):
        self.d = Daemon().start()  # warm_vis 2 is the default of a new site
        self.d.onboard(demo())
        self.wait_ready()
        made = {inode(ns) for ns in self.d.netns(slots=True)}

        self.d.deploy("w1", "demo-t", params={"greeting": "warm"})
        [vi] = self.d.deployment("w1")["vis"]
        ns = "vnfm-%s-%s" % (self.d.tag, vi["id"])
        self.assertEqual(self.d.netns(), [ns])
        self.assertIn(inode(ns), made, "the VI did not get a namespace made in advance")
        status, body = http_get("http://%s:8080/" % vi["ip"])
        self.assertEqual(status, 200)
        self.assertIn("warm", body)
        # its names: host interface (as an altname), cgroups with its limits
        self.assertEqual(self.d.veths([vi["id"]]), [vi["id"]])
        [mem] = [c for c in self.d.cgroups() if "/memory/" in c or "/cgroup/vnfm/" in c]
        self.assertTrue(mem.endswith("/" + vi["id"]))
        limit = os.path.join(mem, "memory.limit_in_bytes")
        if not os.path.exists(limit):
            limit = os.path.join(mem, "memory.max")
        self.assertEqual(int(slurp(limit)), 32 << 20)
        # the MAC derived from the address, as a VI made from scratch has
        out = subprocess.run(["ip", "netns", "exec", ns, "ip", "-o", "link", "show", "eth0"],
                             capture_output=True, text=True).stdout
        mac = "02:76:" + ":".join("%02x" % int(b) for b in vi["ip"].split("."))
        self.assertIn(mac, out)

        # the site makes another in the background; the old name goes
        self.wait_ready()
        self.assertNotIn(inode(ns), {inode(n) for n in self.d.netns(slots=True)})

        # more VIs than slots: two are taken, the third is made from scratch
        self.d.ok("POST", "/v0/deployments/w1/scale", {"vdu": "web", "count": 3})
        wait_for(lambda: len(self.d.deployment("w1")["vis"]) == 3 and
                 not self.d.deployment("w1")["operation"], 30, what="scale out to 3")
        for v in self.d.deployment("w1")["vis"]:
            self.assertEqual(v["state"], "running")
            self.assertEqual(http_get("http://%s:8080/" % v["ip"])[0], 200)
        self.wait_ready()
        # cleanup() checks that undeploy leaves no VI, and the stop no slot

    def test_without_warm_vis(self):
        self.d = Daemon("--site-warm-vis", "0").start()
        self.d.onboard(demo())
        self.assertIsNone(self.warm())
        self.assertEqual(self.d.netns(slots=True), [])
        self.d.deploy("c1", "demo-t")
        [vi] = self.d.deployment("c1")["vis"]
        self.assertEqual(http_get("http://%s:8080/" % vi["ip"])[0], 200)
        self.assertEqual(self.d.netns(slots=True), [])

    def test_warm_vis_changed_while_running(self):
        self.d = Daemon("--site-warm-vis", "0").start()
        self.assertIsNone(self.warm())
        # more, through the API; the record keeps it
        site = self.d.ok("PUT", "/v0/sites/local", {"options": {"warm_vis": 3}})
        self.assertEqual(site["options"], {"warm_vis": 3})
        self.wait_ready(3)
        # fewer, through the CLI: the extra ones go
        out = self.d.ctl("site", "set", "local", "--warm-vis", "1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.wait_ready(1)
        # none: no slot left, and the view says nothing of them
        self.d.ok("PUT", "/v0/sites/local", {"options": {"warm_vis": 0}})
        wait_for(lambda: self.warm() is None and self.d.netns(slots=True) == [], 20,
                 what="no warm VIs")
        # bad input changes nothing
        for body in ({"options": {"warm_vis": 65}}, {"options": {"colour": 1}}, {}):
            self.assertEqual(self.d.request("PUT", "/v0/sites/local", body)[0], 400, body)
        self.assertEqual(self.d.get("/v0/sites/local")[1]["options"], {"warm_vis": 0})
        # a restart keeps the setting
        self.d.ok("PUT", "/v0/sites/local", {"options": {"warm_vis": 2}})
        self.d.stop()
        self.d.restart()
        self.wait_ready(2)

    def test_kill9_leaves_slots_to_the_next_start(self):
        self.d = Daemon().start()
        self.d.onboard(demo())
        self.wait_ready()
        self.d.deploy("k1", "demo-t")
        self.wait_ready()
        before = set(self.d.netns(slots=True))
        [vi] = self.d.deployment("k1")["vis"]
        self.d.kill9()
        self.assertEqual(set(self.d.netns(slots=True)), before)  # nothing removes them
        self.d.restart()
        self.wait_ready()
        # new slots; the old ones are gone, and the VI was not taken for one
        self.assertFalse(before & set(self.d.netns(slots=True)))
        self.assertEqual(self.d.netns(), ["vnfm-%s-%s" % (self.d.tag, vi["id"])])
        self.assertEqual(http_get("http://%s:8080/" % vi["ip"])[0], 200)

    def test_bad_setting_refused(self):
        out = subprocess.run([VNFMD, "--site-warm-vis", "65"], capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("--site-warm-vis must be at most 64", out.stderr)


if __name__ == "__main__":
    unittest.main()
