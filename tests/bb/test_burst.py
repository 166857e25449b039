"""A branch VNF scaled from the cloud bursts into the cloud (docs/FEDERATION.md
"Bursting into the cloud", issue 13 claims 1, 3-4): the cloud's rules over an
overloaded branch VNF add instances at the branch while the branch has room, then
in the cloud (a deployment burst_of the branch's) behind the same service
endpoint; when it is quiet those in the cloud go first, then the branch's down to
the minimum. Real daemons: a cloud with the process VIM of its own, a branch
manager behind a veth WAN link (test_move.start_estate), a client at the branch
through the endpoint that counts failures and which instance answered."""
import json
import re
import threading
import time
import unittest

from vnfm import wait_for
from test_move import Client, start_estate, stop_estate, vnfd as move_vnfd

SITE = "bu"
# the branch holds two instances (0.2 vCPU each), the VNF may have four
SITE_CAPACITY = {"vcpu": 0.4, "memory_mb": 1024}
# Each instance's requests per second include its monitor's probe of /stats (2 a
# second): quiet, the client's 1 a second keeps them under 4 (a margin of 1.5
# with two instances at the branch), busy, its 100 or so over 8.
RULES = [
    {"name": "busy", "metric": "rps", "op": ">", "threshold": 8, "occurrences": 2,
     "stage": "overloaded", "cooldown_s": 1, "actions": [{"action": "scale_out"}]},
    {"name": "idle", "metric": "rps", "op": "<", "threshold": 4, "occurrences": 2,
     "stage": "underloaded", "cooldown_s": 1, "actions": [{"action": "scale_in"}]}]

def vnfd(vnfd_id, placement=None, most=4):
    doc = move_vnfd(vnfd_id, scaling={"min": 1, "max": most})
    if placement:
        doc["placement"] = placement
    doc["monitoring"] = {"interval_s": 0.5, "metrics": {
        "rps": {"probe": "http", "port": 8080, "path": "/stats",
                "json": "requests_per_s_1s", "aggregate": "avg"}}}
    doc["rules"] = []
    return doc


class Pusher:
    """Pushes q = 100 to every VI of deployment dep at manager d, every 0.2 s, until
    closed (close waits for the last push)."""

    def __init__(self, d, dep):
        self.d, self.dep, self.stop = d, dep, threading.Event()
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            for vi in self.d.deployment(self.dep).get("vis", []):
                self.d.post("/v0/deployments/%s/metrics" % self.dep,
                            {"values": {"q": 100}, "vi": vi["name"]})
            self.stop.wait(0.2)

    def close(self):
        self.stop.set()
        self.t.join()


def cloud_first(vnfd_id, shell, ready_s):
    """A VNFD whose instances in the cloud run shell before they serve (those at the
    branch serve at once), with ready_s for their ready check."""
    doc = vnfd(vnfd_id, most=3)
    doc["vdus"][0]["command"] = [
        "sh", "-c", "[ {{site}} = cloud ] && %s; exec vnf-demo --listen {{ip}}:8080 "
        "--config {{day0_dir}}/demo.conf" % shell]
    doc["vdus"][0]["ready"]["timeout_s"] = ready_s
    return doc


class BurstTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_estate(cls, SITE, service_address=True)
        cls.b.ok("PUT", "/v0/sites/" + SITE, {"capacity": SITE_CAPACITY})

    @classmethod
    def tearDownClass(cls):
        stop_estate(cls)

    def tearDown(self):
        self.wan.up()
        for d in (self.cloud, self.b):
            if d.proc and d.proc.poll() is None:
                d.undeploy_all()

    def client(self, endpoint, pause):
        c = Client(self.wan, endpoint, pause, (self.cloud, self.b))
        self.addCleanup(c.result)
        return c

    def deploy_ruled(self, name, doc, rules=RULES):
        """Deployed at the branch through the cloud, with the cloud's rules, which
        the branch gave to the cloud (one owner)."""
        cloud = self.cloud
        cloud.onboard(doc)
        op = cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": doc["id"],
                                                  "site": SITE}, expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        dep = wait_for(lambda: (lambda d: d if d.get("service_endpoint") else None)(
            cloud.deployment(name)), 10, 0.1, "the endpoint of " + name)
        cloud.ok("PUT", "/v0/deployments/%s/rules" % name, {"rules": rules})
        op = cloud.ok("PUT", "/v0/deployments/%s/rules-owner" % name, {"owner": "cloud"},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        wait_for(lambda: cloud.deployment(name).get("rules_owner") == "cloud", 10, 0.1,
                 "the cloud owns the rules of " + name)
        return dep

    def counts(self, name):
        """(instances at the branch, instances in the cloud, the burst's id)."""
        dep = self.cloud.deployment(name)
        burst = (dep.get("burst") or {}).get("deployment")
        away = len(self.cloud.deployment(burst).get("vis", [])) if burst else 0
        return len(dep.get("vis", [])), away, burst

    def burst_of(self, name):
        """The id of the burst of name in the cloud, once it has one."""
        return wait_for(lambda: self.counts(name)[2], 120, 0.05, "a burst of " + name)

    def decisions(self, name):
        doc = self.cloud.get("/v0/decisions?deployment=" + name)[1]
        return sorted((d for d in doc["decisions"] if d.get("deployment") == name),
                      key=lambda d: d["created"])

    def nft(self):
        return self.b.on_host("nft", "list", "table", "ip", "vnfm_ep_" + self.b.tag,
                              capture_output=True, text=True).stdout

    def test_burst_out_and_back(self):
        cloud = self.cloud
        ep = self.deploy_ruled("bu1", vnfd("bu-web"))["service_endpoint"]
        # overloaded: a second instance at the branch (it has room), then two in the cloud
        busy = self.client(ep, 0.005)
        seen = []

        def at_max():
            n = self.counts("bu1")
            if not seen or seen[-1] != n:
                seen.append(n)
            return n[0] + n[1] == 4 and not cloud.deployment("bu1").get("operation")

        wait_for(at_max, 120, 0.2, "bu1 at four instances")
        here, away, burst = self.counts("bu1")
        self.assertEqual((here, away), (2, 2), seen)
        self.assertTrue(all(h <= 2 for h, _, _ in seen), seen)
        # the branch filled before the cloud took any (instances in order)
        self.assertEqual([h for h, a, _ in seen if a > 0 and h < 2], [], seen)
        bdep = cloud.deployment(burst)
        self.assertEqual((bdep["burst_of"], bdep["site"]), ("bu1", "cloud"))
        self.assertEqual(cloud.deployment("bu1")["burst"]["site"], "cloud")
        cloud_ips = [vi["ip"] for vi in bdep["vis"]]
        # the endpoint balances over the branch's and the cloud's instances
        wait_for(lambda: all(ip in self.nft() for ip in cloud_ips), 15, 0.2,
                 "the cloud's instances behind the endpoint")
        table = self.nft()
        for vi in self.b.deployment("bu1")["vis"]:
            self.assertIn(vi["ip"], table)
        self.assertIn("numgen inc mod 4", table)
        # its burst does not move on its own: it moves with bu1 (test_moves_whole)
        status, doc, _ = cloud.request("POST", "/v0/deployments/%s/move" % burst,
                                       {"site": SITE})
        self.assertEqual((status, doc.get("field")), (409, "burst"), doc)
        self.assertIn("they move with it", doc["message"])
        time.sleep(2)
        got = busy.result()
        self.assertEqual(got["fail"], 0, got)
        names = set(got["who"])
        self.assertTrue(names & {vi["name"] for vi in self.b.deployment("bu1")["vis"]}, got)
        self.assertTrue(names & {vi["name"] for vi in bdep["vis"]}, got)
        # the decisions say where and why
        outs = [d for d in self.decisions("bu1") if d["rule"] == "busy"]
        wheres = [d["chosen"][0]["where"] for d in outs if d.get("chosen")]
        self.assertEqual(wheres[:3], ["branch", "cloud", "cloud"], json.dumps(outs, indent=1))
        first_cloud = next(d for d in outs if d.get("chosen", [{}])[0].get("where") == "cloud")
        self.assertEqual(first_cloud["rejected"][0]["where"], "branch")
        self.assertIn("free", first_cloud["rejected"][0]["why"])
        self.assertIn("in the cloud", first_cloud["reason"])
        # the WAN cut: the branch's endpoint leaves the cloud's instances out (their
        # share of new connections would fail) until a report gets through again;
        # its checks of them find it before the report's timeout does
        self.wan.down()
        wait_for(lambda: not any(ip in self.nft() for ip in cloud_ips), 20, 0.2,
                 "the cloud's instances out of the endpoint")
        for ip in cloud_ips:
            self.assertIn("instance in the cloud at %s:8080 did not answer 2 checks" % ip,
                          self.b.log())
        self.assertIn("numgen inc mod 2", self.nft())
        cut = self.client(ep, 0.05)
        time.sleep(3)
        got = cut.result()
        self.assertEqual(got["fail"], 0, got)
        self.assertFalse(set(got["who"]) & {vi["name"] for vi in bdep["vis"]}, got)
        self.wan.up()
        wait_for(lambda: all(ip in self.nft() for ip in cloud_ips), 30, 0.2,
                 "the cloud's instances back behind the endpoint")
        # quiet: the cloud's instances go first, then the branch's to the minimum
        quiet = self.client(ep, 1.0)
        seen[:] = []

        def at_min():
            n = self.counts("bu1")
            if not seen or seen[-1][:2] != n[:2]:
                seen.append(n)
            return n[:2] == (1, 0)

        wait_for(at_min, 120, 0.2, "bu1 back at one instance")
        # the branch kept both of its own while the cloud had any
        self.assertEqual([h for h, a, _ in seen if a > 0 and h < 2], [], seen)
        wait_for(lambda: cloud.get("/v0/deployments/" + burst)[0] == 404, 30, 0.2,
                 "the burst undeployed")
        self.assertNotIn("burst", cloud.deployment("bu1"))
        for ip in cloud_ips:
            self.assertNotIn(ip, self.nft())
        got = quiet.result()
        self.assertGreater(got["ok"], 3, got)
        self.assertEqual(got["fail"], 0, got)
        ins = [d for d in self.decisions("bu1") if d["rule"] == "idle" and d.get("chosen")]
        self.assertEqual(ins[0]["chosen"][0]["where"], "cloud", json.dumps(ins, indent=1))

    def at_four(self, name, placement=None):
        """name deployed with the cloud's rules and a busy client: two instances at the
        branch and two in the cloud. (the client, the burst's id, the names of all
        four)."""
        cloud = self.cloud
        ep = self.deploy_ruled(name, vnfd("bu-" + name, placement))["service_endpoint"]
        busy = self.client(ep, 0.005)

        def settled():  # and neither it nor its burst busy (a move would wait)
            here, away, burst = self.counts(name)
            return burst if (here, away) == (2, 2) and not any(
                cloud.deployment(d).get("operation") for d in (name, burst)) else None

        burst = wait_for(settled, 120, 0.2, name + " at four instances")
        names = {vi["name"] for vi in self.b.deployment(name)["vis"]}
        names |= {vi["name"] for vi in cloud.deployment(burst)["vis"]}
        return busy, burst, names

    def moved_whole(self, name, op_id, busy, burst, old_vis):
        """The move op_id of name completed: the clone in the cloud has the four
        instances and the cloud's rules, the endpoint leads to them, the original and
        the burst are gone; the client never failed, and the clone answered it."""
        cloud = self.cloud
        op = cloud.wait_op(op_id, timeout=120)
        self.assertEqual(op["state"], "completed", op)
        self.assertEqual([s["stage"] for s in op["stages"]],
                         ["clone", "switch", "drain", "undeploy"], op)
        dep = cloud.deployment(name)
        self.assertEqual((dep["site"], dep.get("burst")), ("cloud", None))
        if len(dep["vis"]) != 4:  # the clone's own rules scaled it in since ("idle": CI104)
            scaled = [o for o in cloud.get("/v0/operations?deployment=%s&type=scale" % name)[1][
                "operations"] if o["created"] >= op["finished"]]
            self.assertTrue(scaled and 1 <= len(dep["vis"]) < 4, (dep["vis"], scaled))
        self.assertEqual([r["name"] for r in dep["rules"]], ["busy", "idle"])
        wait_for(lambda: cloud.get("/v0/deployments/" + burst)[0] == 404, 30, 0.2,
                 "the burst undeployed")
        wait_for(lambda: self.b.get("/v0/deployments/" + name)[0] == 404, 30, 0.2,
                 "the original undeployed")
        table = self.nft()  # the endpoint leads to the clone's four instances
        for vi in dep["vis"]:
            self.assertIn(vi["ip"], table)
        time.sleep(1)
        got = busy.result()
        self.assertEqual(got["fail"], 0, got)
        self.assertTrue(set(got["who"]) & old_vis, got)
        self.assertTrue(set(got["who"]) - old_vis, got)  # and the clone's answered

    def test_moves_whole(self):
        """A service with instances in the cloud moves to the cloud whole: the pool of
        its overloaded branch chooses it, counting them in what the move needs there
        (its only deployment: moving it leaves the branch idle), the clone has
        the branch's and the burst's instances (four) and the cloud's rules, the
        endpoint switches to it, the original and its burst go; the client at the branch
        never fails. Quiet again, it does not come back although it prefers the branch:
        its four instances would not fit there (the pool says so)."""
        cloud = self.cloud
        busy, burst, old_vis = self.at_four("bu6", "prefer-branch")
        # the pool of the overloaded branch chooses it like any other deployment,
        # needing room in the cloud for all four instances
        n = len(cloud.get("/v0/decisions?rule=pool")[1]["decisions"])
        cloud.ok("PUT", "/v0/sites/%s/pool" % SITE, {"overload": 0.0001, "for_reports": 1})
        try:
            d = wait_for(lambda: (lambda ds: ds[0] if len(ds) > n else None)(
                cloud.get("/v0/decisions?rule=pool")[1]["decisions"]), 30, 0.2,
                "the pool's decision")
        finally:
            cloud.ok("PUT", "/v0/sites/%s/pool" % SITE, {"overload": 1000})
        [chosen] = d["chosen"]
        self.assertEqual((chosen["deployment"], chosen["to"]), ("bu6", "cloud"), d)
        self.assertAlmostEqual(chosen["need_vcpu"], 0.8, places=3, msg=d)
        move = wait_for(lambda: (cloud.deployment("bu6").get("move") or {}).get("operation"),
                        10, 0.1, "the pool's move")
        self.moved_whole("bu6", move, busy, burst, old_vis)
        n = len(cloud.get("/v0/decisions?rule=pool")[1]["decisions"])
        cloud.ok("PUT", "/v0/sites/%s/pool" % SITE, {
            "overload": 0.99, "underload": 0.9, "for_reports": 1, "cooldown_s": 0,
            "move_back": {"after_s": 1}})
        try:
            # (an operation of the clone's own rules may run at a judgement: it is busy
            # then, and the next judgement weighs it)
            staying = wait_for(lambda: (lambda s: s if s and not any(
                x["why"].startswith("busy") for x in s) else None)(cloud.get(
                    "/v0/sites/%s/pool" % SITE)[1]["judged"].get("staying")),
                30, 0.2, "the move-back judged")
        finally:
            cloud.ok("PUT", "/v0/sites/%s/pool" % SITE, {"overload": 1000})
        self.assertEqual([x["deployment"] for x in staying], ["bu6"], staying)
        # (its instances: 4 of 0.2 vCPU, or fewer when the clone's own rules scaled it in)
        m = re.match(r"no room: its instances would take ([0-9.]+) vCPU, \d+ MB there; the "
                     r"branch has ([0-9.]+) vCPU", staying[0]["why"])
        self.assertTrue(m, staying[0]["why"])
        self.assertGreater(float(m.group(1)), float(m.group(2)), staying[0]["why"])
        self.assertEqual(len(cloud.get("/v0/decisions?rule=pool")[1]["decisions"]), n)
        self.assertEqual(cloud.deployment("bu6")["site"], "cloud")

    def test_cloud_kill9_while_a_service_moves_whole(self):
        """The cloud killed during the drain of such a move: after its restart the move
        goes on from its journal, and the burst goes with the original."""
        cloud = self.cloud
        busy, burst, old_vis = self.at_four("bu7")
        # (an endpoint change of its burst may still be under way: the move says busy,
        # try again when it ends, as a client does)
        op = wait_for(lambda: (lambda r: r[1] if r[0] == 202 else self.assertIn(
            "busy with operation", r[1].get("message", ""), r) or None)(cloud.request(
                "POST", "/v0/deployments/bu7/move", {"site": "cloud", "drain_s": 3})),
            30, 0.1, "the move accepted")
        wait_for(lambda: cloud.get("/v0/operations/" + op["id"])[1]["stage"] == "drain", 60,
                 0.05, "the move at its drain")
        self.assertEqual(cloud.get("/v0/deployments/" + burst)[0], 200)  # it drains too
        cloud.kill9()
        cloud.restart()
        self.moved_whole("bu7", op["id"], busy, burst, old_vis)

    def test_cloud_kill9_while_the_burst_starts(self):
        """The cloud killed while its burst's instance starts (it answers only after 5 s
        in the cloud): its engine resumes the deploy, and the endpoint at the branch
        gets the instance once it is ready; the client never fails."""
        cloud = self.cloud
        ep = self.deploy_ruled("bu3", cloud_first("bu-slow", "sleep 5", 30))["service_endpoint"]
        busy = self.client(ep, 0.005)
        burst = self.burst_of("bu3")
        self.assertTrue(cloud.deployment(burst).get("operation"))  # its deploy runs
        cloud.kill9()
        cloud.restart()
        wait_for(lambda: (lambda d: d.get("status") == "active" and not d.get("operation"))(
            cloud.deployment(burst)), 60, 0.2, "the burst deployed after the restart")
        [vi] = cloud.deployment(burst)["vis"]
        wait_for(lambda: vi["ip"] in self.nft(), 15, 0.2, "the cloud's instance behind the endpoint")
        self.assertEqual(self.counts("bu3")[:2], (2, 1))
        time.sleep(2)
        got = busy.result()
        self.assertEqual(got["fail"], 0, got)
        self.assertIn(vi["name"], got["who"], got)

    def test_a_burst_that_fails_goes(self):
        """A burst whose instance in the cloud never gets ready: its deploy fails,
        the cloud undeploys it and the branch deployment forgets it, with an event
        saying why; the instance never joined the endpoint, so the client at the
        branch never failed."""
        cloud = self.cloud
        ep = self.deploy_ruled("bu4", cloud_first("bu-never", "exec sleep 600", 2))
        busy = self.client(ep["service_endpoint"], 0.005)
        burst = self.burst_of("bu4")
        wait_for(lambda: cloud.get("/v0/deployments/" + burst)[0] == 404, 90, 0.2,
                 "the burst that did not deploy undeployed")
        self.assertNotEqual((cloud.deployment("bu4").get("burst") or {}).get("deployment"),
                            burst)
        logs = cloud.get("/v0/logs?event=burst-failed")[1]["logs"]
        self.assertTrue(any(burst in r["message"] and "did not deploy" in r["message"]
                            for r in logs), logs)
        got = busy.result()
        self.assertEqual(got["fail"], 0, got)

    def test_the_rules_see_the_instances_in_the_cloud(self):
        """The cloud's rules over a branch VNF with a burst see the instances in the
        cloud too (each metric combined as its aggregate says): with the branch's
        instances quiet and the cloud's busy (pushed values, aggregate max), the
        rule still fires and the burst grows."""
        cloud, b = self.cloud, self.b
        doc = vnfd("bu-push")
        doc["monitoring"] = {"interval_s": 0.5,
                             "metrics": {"q": {"probe": "push", "aggregate": "max"}}}
        rules = [{"name": "high", "metric": "q", "op": ">", "threshold": 50,
                  "occurrences": 1, "stage": "overloaded", "cooldown_s": 1,
                  "actions": [{"action": "scale_out"}]}]
        self.deploy_ruled("bu5", doc, rules)
        busy = Pusher(b, "bu5")
        self.addCleanup(busy.close)
        burst = self.burst_of("bu5")
        busy.close()  # the branch's instances fall quiet
        for vi in b.deployment("bu5")["vis"]:
            b.ok("POST", "/v0/deployments/bu5/metrics", {"values": {"q": 0}, "vi": vi["name"]},
                 expect=(202,))
        wait_for(lambda: not cloud.deployment(burst).get("operation"), 60, 0.2,
                 "the burst deployed")
        time.sleep(3)
        self.assertEqual(self.counts("bu5")[:2], (2, 1))
        busy = Pusher(cloud, burst)  # its instance in the cloud gets busy
        self.addCleanup(busy.close)
        wait_for(lambda: self.counts("bu5")[:2] == (2, 2), 30, 0.2,
                 "the burst grown by the cloud's instance's value")
        busy.close()
        d = [d for d in self.decisions("bu5") if d.get("chosen")][-1]
        self.assertEqual(d["inputs"]["values"]["q"], 100, json.dumps(d, indent=1))

    def test_branch_only_stays(self):
        """A VNF whose placement is branch-only never bursts: at the branch's room the
        scale out is refused there, with why."""
        ep = self.deploy_ruled("bu2", vnfd("bu-only", placement="branch-only"))
        busy = self.client(ep["service_endpoint"], 0.005)
        d = wait_for(lambda: next((d for d in self.decisions("bu2")
                                   if "branch-only" in json.dumps(d.get("rejected"))), None),
                     120, 0.3, "a scale out the branch has no room for")
        self.assertEqual(d["chosen"][0]["where"], "branch")
        self.assertEqual(d["rejected"][0]["where"], "cloud")
        self.assertIn("free", d["chosen"][0]["why"])
        # the branch refused it: it is full
        self.assertEqual(wait_for(lambda: (lambda x: x if x["state"] != "running" else None)(
            self.cloud.get("/v0/decisions/" + d["id"])[1]), 30, 0.2, "its end")["state"],
            "failed")
        self.assertEqual(self.counts("bu2")[1:], (0, None))
        self.assertEqual(busy.result()["fail"], 0)


if __name__ == "__main__":
    unittest.main()
