"""The branch pool (docs/FEDERATION.md "The branch pool", issue 13 part B):
a branch reports its site's load (what its VIs use against its capacity,
per deployment, and the WAN to the cloud, measured on the reports); the
cloud keeps it per site and judges it against the site's pool policy. An
overloaded branch gets more capacity first where the policy allows it,
else the cloud chooses the fewest deployments whose moves bring it under
the threshold, honouring each VNFD's placement and the cloud's room, and
records what it chose, why, and what it rejected. Real daemons: a cloud
and a simulated branch (its VIs use half their memory: loads that do not
depend on the machine's), and a branch with the process VIM behind a veth
WAN link running a VNF that really holds memory."""
import json
import subprocess
import unittest

from vnfm import Wan, Webhook, wait_for
from test_deploy import demo
from test_fed import Pki, branch, join_token, manager_of
from test_move import Client, start_estate, stop_estate

SITE_MB = 2000  # the simulated branch's memory; its VIs use half of what they hold


def vnfd(vnfd_id, memory_mb, placement=None):
    doc = demo(vnfd_id, memory_mb=memory_mb, vcpu=0.1)
    if placement:
        doc["placement"] = placement
    return doc


def pool_decisions(cloud, state=None):
    ds = cloud.get("/v0/decisions?rule=pool")[1]["decisions"]
    return [d for d in ds if state is None or d["state"] == state]


class PoolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.cloud = cls.pki.cloud("--fed-missed", "30").start()
        cls.b = branch(cls.cloud, "p1", join_token(cls.cloud, "p1"), "--site-driver",
                       "sim").start()
        wait_for(lambda: manager_of(cls.cloud, "p1"), 10, what="p1 joined")
        cls.b.ok("PUT", "/v0/sites/p1", {"capacity": {"memory_mb": SITE_MB}})
        # 0.15, 0.15, 0.05 and 0.10 of the branch's memory: 0.45 in all
        for vid, mb, place in (("pool-big", 600, None), ("pool-pb", 600, "prefer-branch"),
                               ("pool-small", 200, "cloud-allowed"),
                               ("pool-pin", 400, "branch-only")):
            cls.cloud.onboard(vnfd(vid, mb, place))
            op = cls.cloud.ok("POST", "/v0/deployments", {"name": vid[5:], "vnfd": vid,
                                                          "site": "p1"}, expect=(202,))
            assert cls.cloud.wait_op(op["id"])["state"] == "completed"

    @classmethod
    def tearDownClass(cls):
        for d in (cls.b, cls.cloud):
            d.cleanup()
        cls.pki.close()

    def pool(self):
        return self.cloud.get("/v0/sites/p1/pool")[1]

    def put(self, body, site="p1"):
        return self.cloud.request("PUT", "/v0/sites/%s/pool" % site, body)

    def quiet(self):
        """No policy (nothing judged), and a decision count to compare with."""
        self.cloud.ok("PUT", "/v0/sites/p1/pool", {"overload": 1000})
        return len(pool_decisions(self.cloud))

    def test_a_site_load(self):
        def loaded():
            load = self.pool()["load"]
            return load if load and len(load["deployments"]) == 4 and \
                load["wan"]["reports"] > 1 else None
        load = wait_for(loaded, 20, 0.2, "the site load of p1 with 4 deployments")
        self.assertEqual(load["capacity"]["memory_mb"], SITE_MB)
        self.assertAlmostEqual(load["used"]["memory_mb"], 900, delta=1)
        self.assertAlmostEqual(load["memory"], 0.45, places=3)
        self.assertEqual(load["value"], max(load["cpu"], load["memory"]))
        self.assertAlmostEqual(load["deployments"]["big"]["memory_mb"], 300, delta=1)
        self.assertEqual(load["allocated"]["memory_mb"], 1800)
        wan = load["wan"]
        self.assertGreater(wan["latency_ms"], 0)  # a TCP handshake, measured
        self.assertLess(wan["latency_ms"], 1000)
        self.assertGreater(wan["rtt_ms"], 0)
        self.assertGreaterEqual(wan["loss"], 0)
        self.assertGreater(wan["throughput_kbps"], 0)
        # the estate view shows it with the site's manager
        m = manager_of(self.cloud, "p1")
        self.assertEqual(m["site_load"]["capacity"]["memory_mb"], SITE_MB)

    def test_b_policy(self):
        bad = [({"overload": 0.5, "underload": 0.6}, "underload"),
               ({"underload": 0.1}, "overload"),
               ({"overload": 0.5, "for_reports": 2, "for_s": 3}, "for_s"),
               ({"overload": 0.5, "lifecycle": "subtract"}, "lifecycle"),
               ({"overload": 0.5, "grow": {}}, "grow.vcpu_max"),
               ({"overload": 0.5, "grow": {"memory_mb_max": 100}}, "grow.memory_mb_max"),
               ({"overload": 0.5, "grow": {"disk_mb_max": 10}}, "grow.disk_mb_max"),
               ({"overload": 0.5, "move_back": {"after_s": 10}}, "move_back"),
               ({"overload": 0.5, "cloud_site": "p1"}, "cloud_site"),
               ({"overload": 0.5, "cloud_site": "nowhere"}, "cloud_site"),
               ({"overload": 0.5, "placement": "x"}, "placement")]
        for body, field in bad:
            status, doc, _ = self.put(body)
            self.assertEqual((status, doc.get("field")), (400, field), (body, doc))
            self.assertIn(field.split(".")[-1], doc["message"])
        self.assertIsNone(self.pool()["policy"])  # unchanged
        # a VNFD's placement is one of three
        status, doc, _ = self.cloud.request("POST", "/v0/vnfds",
                                            vnfd("pool-bad", 64, "anywhere"))
        self.assertEqual((status, doc.get("field")), (400, "placement"), doc)
        self.assertEqual(self.put({"overload": 0.5}, site="nowhere")[0], 404)
        self.assertEqual(self.put({"overload": 0.5}, site="cloud")[0], 409)
        status, doc, _ = self.put({"overload": 0.9, "underload": 0.1,
                                   "move_back": {"after_s": 30}})
        self.assertEqual(status, 200, doc)
        pol = doc["policy"]
        self.assertEqual((pol["for_reports"], pol["cooldown_s"], pol["lifecycle"],
                          pol["cloud_site"]), (3, 60, "hold", "cloud"))
        self.cloud.kill9()
        self.cloud.restart()
        self.assertEqual(self.pool()["policy"], pol)
        wait_for(lambda: manager_of(self.cloud, "p1")["state"] == "active", 20, 0.2, "p1 back")
        # the site's load is soft state: known again at p1's first report after the restart
        wait_for(lambda: self.pool().get("load"), 20, 0.2, "p1's load reported again")
        # the CLI: --set changes members and keeps the rest
        r = self.cloud.ctl("-o", "json", "site", "pool", "p1", "--set", "overload=0.95",
                           "--set", "move_back.after_s=60")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = json.loads(r.stdout)["policy"]
        self.assertEqual((got["overload"], got["underload"], got["move_back"]),
                         (0.95, 0.1, {"after_s": 60}))
        r = self.cloud.ctl("site", "pool", "p1", "--set", "underload=0.99")
        self.assertEqual(r.returncode, 1)
        self.assertIn("underload", r.stderr)
        r = self.cloud.ctl("site", "pool", "p1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("overload", r.stdout)
        self.assertIn("latency_ms", r.stdout)  # the site's load, with the WAN

    def test_c_grow_first(self):
        n = self.quiet()
        status, doc, _ = self.put({"overload": 0.35, "for_reports": 2, "cooldown_s": 0,
                                   "grow": {"memory_mb_max": 4000}})
        self.assertEqual(status, 200, doc)
        d = wait_for(lambda: (lambda ds: ds[0] if len(ds) > n and ds[0]["state"] in (
            "completed", "failed") else None)(pool_decisions(self.cloud)), 30, 0.2, "a grow")
        self.assertEqual((d["action"], d["stage"], d["state"]),
                         ("grow", "branch_overload", "completed"), d)
        # 900 MB used: 2880 MB (64 MB steps) put the branch at 0.3125, 90% of 0.35
        self.assertEqual(d["capacity"]["memory_mb"], 2880)
        self.assertIn("above overload 0.35", d["reason"])
        self.assertIn("no deployment moves", d["reason"])
        self.assertAlmostEqual(d["inputs"]["value"], 0.45, places=3)
        self.assertEqual(self.b.get("/v0/sites/p1")[1]["capacity"]["memory_mb"], 2880)
        wait_for(lambda: self.pool()["load"]["value"] < 0.35, 10, 0.2, "p1 under 0.35")
        self.quiet()
        self.b.ok("PUT", "/v0/sites/p1", {"capacity": {"memory_mb": SITE_MB}})

    def test_d_fewest_moves(self):
        n = self.quiet()
        wait_for(lambda: self.pool()["load"]["capacity"]["memory_mb"] == SITE_MB, 10, 0.2,
                 "p1 at its capacity")
        status, doc, _ = self.put({"overload": 0.35, "for_reports": 2, "cooldown_s": 0})
        self.assertEqual(status, 200, doc)
        d = wait_for(lambda: (lambda ds: ds[0] if len(ds) > n and ds[0]["action"] == "move"
                              else None)(pool_decisions(self.cloud)), 30, 0.2, "a move decision")
        self.quiet()
        # one move will do: big (cloud-allowed) rather than pb, which prefers the branch
        self.assertEqual([c["deployment"] for c in d["chosen"]], ["big"], d)
        [chosen] = d["chosen"]
        self.assertEqual((chosen["to"], chosen["placement"]), ("cloud", "cloud-allowed"))
        self.assertIn("1 move brings the branch from 0.450 to 0.300", chosen["why"])
        why = {r["deployment"]: r["why"] for r in d["rejected"]}
        self.assertIn("branch-only", why["pin"])
        self.assertIn("too small", why["small"])
        self.assertIn("prefer-branch", why["pb"])
        self.assertEqual(d["alternatives"][0]["action"], "grow")
        self.assertIn("allows no capacity change", d["alternatives"][0]["why"])
        self.assertEqual(d["after"], 0.3)
        self.assertIn("to the cloud's site cloud", d["reason"])
        self.assertIn(d["id"], self.cloud.ctl("decisions").stdout)

    def test_e_refused(self):
        # moving every deployment that may move leaves the branch-only one: 0.10
        n = self.quiet()
        self.assertEqual(self.put({"overload": 0.08, "for_reports": 2, "cooldown_s": 0})[0], 200)
        d = wait_for(lambda: (lambda ds: ds[0] if len(ds) > n else None)(
            pool_decisions(self.cloud)), 30, 0.2, "a refused decision")
        self.assertEqual(d["state"], "refused", d)
        self.assertIn("moving all 3 deployments that may move leaves the branch at 0.100",
                      d["reason"])
        self.assertEqual(d["chosen"], [])
        self.assertIn("branch-only", {r["deployment"]: r["why"] for r in d["rejected"]}["pin"])
        # once per streak
        n = len(pool_decisions(self.cloud))
        wait_for(lambda: self.pool()["judged"]["over_reports"] >= 3, 10, 0.2, "more reports")
        self.assertEqual(len(pool_decisions(self.cloud)), n)

        # a cloud site without room: refused, with what the fewest moves need
        n = self.quiet()
        self.cloud.ok("PUT", "/v0/sites/cloud", {"capacity": {"memory_mb": 300}})
        try:
            self.assertEqual(self.put({"overload": 0.35, "for_reports": 2,
                                       "cooldown_s": 0})[0], 200)
            d = wait_for(lambda: (lambda ds: ds[0] if len(ds) > n else None)(
                pool_decisions(self.cloud)), 30, 0.2, "no room in the cloud")
        finally:
            self.quiet()
            self.cloud.ok("PUT", "/v0/sites/cloud", {"capacity": {"memory_mb": 4096}})
        self.assertEqual(d["state"], "refused", d)
        self.assertIn("the cloud has no room: the fewest moves (1) need", d["reason"])

    def test_f_a_full_disk(self):
        """The disk is judged like CPU and memory: a deployment whose files fill the
        branch's disk is the one that moves (its simulated VI uses half the disk it
        holds), although memory alone would not move anything."""
        cloud, b = self.cloud, self.b
        n = self.quiet()
        b.ok("PUT", "/v0/sites/p1", {"capacity": {"disk_mb": 1000}})
        doc = vnfd("pool-disk", 32)
        doc["vdus"][0]["disk_mb"] = 1000
        cloud.onboard(doc)
        op = cloud.ok("POST", "/v0/deployments", {"name": "disky", "vnfd": "pool-disk",
                                                  "site": "p1"}, expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        try:
            load = wait_for(lambda: (lambda x: x if x and "disky" in x["deployments"] else None)(
                self.pool()["load"]), 20, 0.2, "disky in the site's load")
            self.assertAlmostEqual(load["deployments"]["disky"]["disk_mb"], 500, delta=1)
            self.assertAlmostEqual(load["used"]["disk_mb"], 500, delta=1)
            self.assertAlmostEqual(load["disk"], 0.5, places=3)
            self.assertEqual(load["value"], max(load["cpu"], load["memory"], load["disk"]))
            self.assertLess(load["memory"], 0.49)
            # more room first where the policy allows it: the least disk (64 MB steps) that
            # puts the branch at 90% of the threshold: 500 / (0.49 * 0.9) -> 1152 MB
            self.assertEqual(self.put({"overload": 0.49, "for_reports": 2, "cooldown_s": 0,
                                       "grow": {"disk_mb_max": 3000}})[0], 200)
            d = wait_for(lambda: (lambda ds: ds[0] if len(ds) > n and ds[0]["state"] ==
                                  "completed" else None)(pool_decisions(cloud)), 30, 0.2,
                         "the disk grown")
            n = self.quiet()
            self.assertEqual((d["action"], d["capacity"]["disk_mb"]), ("grow", 1152), d)
            self.assertEqual(b.get("/v0/sites/p1")[1]["capacity"]["disk_mb"], 1152)
            b.ok("PUT", "/v0/sites/p1", {"capacity": {"disk_mb": 1000}})
            wait_for(lambda: self.pool()["load"]["capacity"]["disk_mb"] == 1000, 10, 0.2,
                     "p1's disk back at 1000 MB")
            # without a ceiling for it, the disk moves a deployment
            self.assertEqual(self.put({"overload": 0.49, "for_reports": 2, "cooldown_s": 0})[0],
                             200)
            d = wait_for(lambda: (lambda ds: ds[0] if len(ds) > n else None)(
                pool_decisions(cloud)), 30, 0.2, "a decision on the disk")
            self.quiet()
            self.assertEqual(d["action"], "move", d)
            self.assertEqual([c["deployment"] for c in d["chosen"]], ["disky"], d)
            [chosen] = d["chosen"]
            self.assertIn("500 MB disk", chosen["why"])
            self.assertEqual(chosen["need_disk_mb"], 1000)
            self.assertIn("too small", {r["deployment"]: r["why"] for r in d["rejected"]}["big"])
        finally:
            self.quiet()
            cloud.undeploy_all()  # disky, wherever the move took it


# holds 48 MB of memory, and 24 MB of files in its VI's directory
HOG = ["python3", "-c", "import time\nopen('{{day0_dir}}/blob', 'wb').write(b'x' * (24 << 20))\n"
       "b = b'x' * (48 << 20)\ntime.sleep(3600)\n"]


WAN_DELAY_MS = 5  # each way


class PoolWanTest(unittest.TestCase):
    """A branch with the process VIM in a network namespace behind a WAN link
    that carries every frame 5 ms later each way (examples/wan-delay between two
    veth pairs): its VNF holds 48 MB for real, measured from its cgroup, and writes
    24 MB of files, measured from its VI's directory."""

    @classmethod
    def setUpClass(cls):
        cls.wan = Wan(delay_ms=WAN_DELAY_MS)
        cls.pki = Pki(ips=(cls.wan.cloud_ip, "127.0.0.1"))
        cls.cloud = cls.pki.cloud(host="0.0.0.0").start()
        cls.b = branch(cls.cloud, "pw", join_token(cls.cloud, "pw"),
                       "--fed-wan-probe-s", "1", "--fed-wan-probe-kib", "256",
                       url="https://%s:%d" % (cls.wan.cloud_ip, cls.cloud.port),
                       host=cls.wan.branch_ip, netns=cls.wan.ns).start()

    @classmethod
    def tearDownClass(cls):
        for d in (cls.b, cls.cloud):
            d.cleanup()
        cls.wan.close()
        cls.pki.close()

    def wan_figures(self):
        load = self.cloud.get("/v0/sites/pw/pool")[1].get("load")
        return load["wan"] if load else {}

    def test_bulk_probe(self):
        """The bulk probe measures what the link carries: the veth as it is, then
        shaped to 4 Mbit/s (tc tbf on the branch's end), where the reports' own speed
        says little."""
        seen = {}  # probe number -> its speed

        def probes(k):
            w = self.wan_figures()
            if w.get("probes", 0) > 0:
                seen[w["probes"]] = w["bulk_last_kbps"]
            return w if w.get("probes", 0) >= k else None
        wan = wait_for(lambda: probes(3), 40, 0.1, "three bulk probes")
        fast, fast_avg = max(seen.values()), wan["bulk_kbps"]
        # the best of them: 14 to 82 Mbit/s seen with the load of a CI run, but one probe
        # whose process waited for a core measured 2.3 (CI103)
        self.assertGreater(fast, 5000, (seen, wan))
        tbf = ["tc", "qdisc", "add", "dev", "wan0", "root", "tbf", "rate", "4mbit", "burst",
               "16kb", "latency", "1s"]
        subprocess.run(self.wan.inside(*tbf), check=True)
        try:
            # a probe under way when the link was shaped may end at the veth's speed: the
            # average is taken after it, then three probes that all went over the shaped link
            n = max(wan["probes"], self.wan_figures().get("probes", 0))
            first = wait_for(lambda: (lambda w: w if w.get("probes", 0) >= n + 1 else None)(
                self.wan_figures()), 60, 0.2, "the probe after the link was shaped")
            n, fast_avg = first["probes"], first["bulk_kbps"]
            wan = wait_for(lambda: (lambda w: w if w.get("probes", 0) >= n + 3 else None)(
                self.wan_figures()), 60, 0.2, "three bulk probes over the shaped link")
        finally:
            subprocess.run(self.wan.inside("tc", "qdisc", "del", "dev", "wan0", "root"),
                           check=True)
        print("\nbulk probe: %.0f kbit/s on the veth, %.0f kbit/s shaped to 4 Mbit/s "
              "(reports' own: %.0f kbit/s)" % (fast, wan["bulk_last_kbps"],
                                               wan["throughput_kbps"]))
        # at most what the link carries (a burst of 16 kB goes at once), and not far under
        # it (a probe waiting for a core measures less, as above)
        self.assertGreater(wan["bulk_last_kbps"], 1000, wan)
        self.assertLess(wan["bulk_last_kbps"], 5000, wan)
        # the average falls with every shaped probe (not under the last fast probe: one of
        # 218 Mbit/s before it kept it at 103 after three shaped ones, once in the loop;
        # nor under the average before the shaping: a probe under way then, that ended
        # fast, lifted it from 37 to 42 after three shaped ones, once in a streak of the suite)
        self.assertLess(wan["bulk_kbps"], fast_avg, (first, wan))
        self.assertEqual(wan["probes_failed"], 0, wan)
        # the cloud's side takes a manager's credential and padding only
        status, doc = self.cloud.request("POST", "/fed/v1/probe", {"pad": "x"}, token=None)[:2]
        self.assertEqual(status, 401, doc)
        status, doc = self.cloud.request("POST", "/fed/v1/probe", {"pad": 1, "more": 2})[:2]
        self.assertEqual((status, doc.get("field")), (400, "pad"), doc)

    def test_measured(self):
        cloud = self.cloud
        hog = demo("pool-hog", command=HOG, memory_mb=128, vcpu=0.2)
        del hog["vdus"][0]["ready"]
        cloud.onboard(hog)
        op = cloud.ok("POST", "/v0/deployments", {"name": "hog", "vnfd": "pool-hog",
                                                  "site": "pw"}, expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")

        def held():
            load = cloud.get("/v0/sites/pw/pool")[1]["load"]
            return load if load and load["deployments"].get("hog", {}).get(
                "memory_mb", 0) > 48 else None
        load = wait_for(held, 30, 0.2, "hog's 48 MB in the site load")
        self.assertLess(load["deployments"]["hog"]["memory_mb"], 128)  # its cgroup's limit
        self.assertGreaterEqual(load["used"]["memory_mb"], load["deployments"]["hog"]["memory_mb"])
        self.assertAlmostEqual(load["memory"],
                               load["used"]["memory_mb"] / load["capacity"]["memory_mb"], places=6)
        # its files, walked every 10 s
        load = wait_for(lambda: (lambda x: x if x["deployments"]["hog"]["disk_mb"] >= 24 else
                                 None)(cloud.get("/v0/sites/pw/pool")[1]["load"]), 30, 0.5,
                        "hog's 24 MB of files in the site load")
        self.assertLess(load["deployments"]["hog"]["disk_mb"], 25)
        self.assertGreaterEqual(load["used"]["disk_mb"], load["deployments"]["hog"]["disk_mb"])
        self.assertAlmostEqual(load["disk"],
                               load["used"]["disk_mb"] / load["capacity"]["disk_mb"], places=6)
        wan = load["wan"]
        # over the delayed link: one round trip at least (each sample a report's handshake,
        # or its kept connection's kernel round trip), well under a second
        self.assertGreaterEqual(wan["latency_ms"], 2 * WAN_DELAY_MS)
        self.assertLess(wan["latency_ms"], 1000)
        self.assertGreaterEqual(wan["rtt_ms"], 2 * WAN_DELAY_MS)
        # (none asked for; CI122 saw 0.03 before the figure left out the retransmissions the
        # cloud reported as duplicates, and the line ran at a real-time priority)
        self.assertLess(wan["loss"], 0.01)
        self.assertGreater(wan["throughput_kbps"], 0)
        print("\nWAN figures of branch pw: %s" % json.dumps(wan))
        # a line that drops a tenth of the frames each way: the figure shows it
        self.wan.set_delay(WAN_DELAY_MS, loss=10)
        try:
            lossy = wait_for(lambda: (lambda w: w if w["loss"] > 0.01 else None)(
                cloud.get("/v0/sites/pw/pool")[1]["load"]["wan"]), 60, 0.5,
                "the WAN's loss in the site load")
        finally:
            self.wan.set_delay(WAN_DELAY_MS, loss=0)
        print("with 10%% of the frames lost each way: %s" % json.dumps(lossy))


def serving_hog(vnfd_id, placement):
    """vnf-demo (its service, through the branch's endpoint) and, in the same VI,
    a process that holds 40 MB: a real load of the branch's memory."""
    doc = demo(vnfd_id, memory_mb=96, vcpu=0.1, command=[
        "sh", "-c", "python3 -c \"import time\nb = b'x' * (40 << 20)\ntime.sleep(3600)\" & "
        "exec vnf-demo --listen {{ip}}:8080 --config {{day0_dir}}/demo.conf"])
    doc["vdus"][0]["ready"] = {"http": {"port": 8080, "path": "/healthz"}, "timeout_s": 10}
    doc["placement"] = placement
    return doc


class PoolMoveTest(unittest.TestCase):
    """The pool's decisions carried out by the move operation (part A): a cloud
    with the process VIM of its own, a branch with the process VIM behind a
    veth WAN link, real VNFs holding real memory, a client at the branch."""

    @classmethod
    def setUpClass(cls):
        start_estate(cls, "pm", service_address=True)

    @classmethod
    def tearDownClass(cls):
        # the estate's deployments through the cloud first (a deployment moved back
        # and then undeployed at the branch itself stays mirrored on the cloud:
        # a finding of this test, left to the move operation's owner)
        cls.cloud.undeploy_all()
        stop_estate(cls)

    def pool(self):
        return self.cloud.get("/v0/sites/pm/pool")[1]

    def test_overload_moves_and_quiet_brings_back(self):
        cloud, b = self.cloud, self.b
        b.ok("PUT", "/v0/sites/pm", {"capacity": {"memory_mb": 400}})
        for name, doc in (("pb", serving_hog("pool-pbh", "prefer-branch")),
                          ("pin", serving_hog("pool-pinh", "branch-only")),
                          ("sm", vnfd("pool-smh", 64, "cloud-allowed"))):
            cloud.onboard(doc)
            op = cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": doc["id"],
                                                      "site": "pm"}, expect=(202,))
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        ep = wait_for(lambda: cloud.deployment("pb").get("service_endpoint"), 10, 0.1,
                      "pb's endpoint")

        def measured():
            load = self.pool()["load"]
            deps = (load or {}).get("deployments", {})
            return load if all(deps.get(n, {}).get("memory_mb", 0) > (40 if n != "sm" else 0)
                               for n in ("pb", "pin", "sm")) else None
        load = wait_for(measured, 30, 0.2, "the hogs' memory in pm's load")
        cap = load["capacity"]["memory_mb"]
        share = {n: load["deployments"][n]["memory_mb"] / cap for n in ("pb", "pin", "sm")}
        # one hog's move brings pm under; sm's alone does not; pin may not move
        over = round(load["value"] - share["pb"] / 2, 3)
        self.assertGreater(share["pb"] / 2, share["sm"])
        client = Client(self.wan, ep, managers=(self.cloud, self.b))
        self.addCleanup(client.result)
        n = len(pool_decisions(cloud))
        hook = Webhook()  # the orchestrator, told of each decision
        self.addCleanup(hook.close)
        status, doc, _ = cloud.request("PUT", "/v0/sites/pm/pool", {
            "overload": over, "underload": 0.01, "for_reports": 2, "cooldown_s": 0,
            "move_back": {"after_s": 2}, "callback": hook.url})
        self.assertEqual(status, 200, doc)
        d = wait_for(lambda: (lambda ds: ds[0] if len(ds) > n else None)(
            pool_decisions(cloud)), 30, 0.2, "pm's overload decision")
        self.assertEqual((d["action"], d["stage"]), ("move", "branch_overload"), d)
        self.assertIn(d["state"], ("moving", "completed"), d)
        [chosen] = d["chosen"]
        self.assertEqual((chosen["deployment"], chosen["to"]), ("pb", "cloud"))
        why = {r["deployment"]: r["why"] for r in d["rejected"]}
        self.assertIn("branch-only", why["pin"])
        self.assertIn("too small", why["sm"])
        move = cloud.wait_op(chosen["operation"], timeout=120)
        self.assertEqual((move["type"], move["state"]), ("move", "completed"), move)
        self.assertEqual(move["why"]["id"], d["id"])  # the decision that chose it
        switched = [st for st in move["stages"] if st["stage"] == "switch"][0]["finished"]
        print("\npool move of pb: decided %s, switched %s, original undeployed %s (the relief)"
              % (d["created"], switched, move["finished"]))
        d = wait_for(lambda: (lambda x: x if x["state"] != "moving" else None)(
            cloud.get("/v0/decisions/" + d["id"])[1]), 20, 0.2, "the decision ended")
        self.assertEqual(d["state"], "completed", d)
        self.assertEqual(cloud.deployment("pb")["site"], "cloud")
        told = wait_for(lambda: [t for t in hook.got if t["id"] == d["id"]] if len(
            [t for t in hook.got if t["id"] == d["id"]]) == 2 else None, 10, 0.1, "told twice")
        self.assertEqual([t["state"] for t in told], ["moving", "completed"])
        self.assertEqual(told[0]["chosen"][0]["operation"], move["id"])  # told once under way
        got = client.result()
        self.assertGreater(got["ok"], 20, got)
        self.assertEqual(got["fail"], 0, got)

        # quiet: the underload rises above the load, and pb comes back after 2 s
        client = Client(self.wan, ep, managers=(self.cloud, self.b))
        self.addCleanup(client.result)
        n = len(pool_decisions(cloud))
        self.assertEqual(cloud.request("PUT", "/v0/sites/pm/pool", {
            "overload": 0.99, "underload": 0.9, "for_reports": 2, "cooldown_s": 0,
            "move_back": {"after_s": 2}})[0], 200)
        d = wait_for(lambda: (lambda ds: ds[0] if len(ds) > n else None)(
            pool_decisions(cloud)), 30, 0.2, "pm's move-back decision")
        self.assertEqual((d["action"], d["stage"]), ("move_back", "branch_underload"), d)
        [chosen] = d["chosen"]
        self.assertEqual((chosen["deployment"], chosen["to"]), ("pb", "pm"))
        self.assertIn("below underload 0.9 for", d["reason"])
        move = cloud.wait_op(chosen["operation"], timeout=120)
        self.assertEqual(move["state"], "completed", move)
        # mirrored from the branch again, its VI running there
        wait_for(lambda: (lambda d: d["site"] == "pm" and d.get("manager") and
                          [v["state"] for v in d["vis"]] == ["running"])(
                              cloud.deployment("pb")), 20, 0.2, "pb back at pm")
        self.assertEqual(b.deployment("pb")["status"], "active")
        got = client.result()
        self.assertEqual(got["fail"], 0, got)
        # the branch-only one never moved; nothing came back twice
        self.assertEqual(cloud.deployment("pin")["site"], "pm")


if __name__ == "__main__":
    unittest.main()
