"""Moves (docs/FEDERATION.md "Moves", issue 13): the cloud VNFM moves a branch
deployment to a site of its own and back, make-before-break, while a client
at the branch keeps using the service through its endpoint (nftables DNAT at
the branch, kept by the branch manager). Real daemons: a cloud with the
process VIM of its own, a branch manager in a network namespace behind a
veth WAN link (tests/bb/vnfm.py Wan); the clone in the cloud is reached from
the branch over that link."""
import calendar
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

from vnfm import Daemon, Wan, ip_forward_hold, ip_forward_release, wait_for
from test_deploy import demo
from test_fed import Pki, join_token, branch, manager_of
from test_sol003 import SolClient

# A client at the branch: one new connection per request (no keep-alive),
# pausing PAUSE s between requests, counting answers per instance ("hello from
# VI"), when each answered first, and failures, until the stop file appears.
CLIENT = r'''
import json, os, socket, sys, time
addr, port, stop, pause = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
ok, fail, errors, who, first = 0, 0, [], {}, {}
while not os.path.exists(stop):
    try:
        s = socket.create_connection((addr, port), timeout=3)
        s.settimeout(3)
        s.sendall(b"GET / HTTP/1.0\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        if head.split(b" ")[1:2] == [b"200"]:
            ok += 1
            name = body.decode(errors="replace").strip().rsplit(" ", 1)[-1]
            who[name] = who.get(name, 0) + 1
            first.setdefault(name, time.time())
        else:
            fail += 1
            errors.append(repr(data[:60]))
    except OSError as e:
        fail += 1
        errors.append("%.3f %s" % (time.time(), e))
    time.sleep(pause)
print(json.dumps({"ok": ok, "fail": fail, "errors": errors[:20], "who": who, "first": first}))
'''


# A web server that ignores SIGTERM (Python keeps the disposition its code
# sets), so that it serves on through its whole stop grace.
DEAF_SERVER = r'''
import http.server, signal, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello from deaf")
    def log_message(self, *args):
        pass
http.server.HTTPServer((sys.argv[1], 8080), Handler).serve_forever()
'''


def start_estate(cls, site, service_address=False, cloud_args=(), wan_delay_ms=None):
    """On cls: a cloud running VNFs of its own (the process VIM), serving over TLS, with
    cloud_args, and the branch manager of site (with --service-address on its WAN
    address when service_address) behind a veth WAN link (through a delay line of
    wan_delay_ms each way when given: vnfm.py Wan); the branch reaches the cloud's VNFs over that link, the host forwarding."""
    cls.wan = Wan(delay_ms=wan_delay_ms)
    cls.pki = Pki(ips=(cls.wan.cloud_ip, "127.0.0.1"))
    cls.cloud = Daemon("--tls-cert", cls.pki.cert, "--tls-key", cls.pki.key, *cloud_args,
                       ca=cls.pki.ca, role="cloud", site="cloud", host="0.0.0.0").start()
    extra = ("--service-address", cls.wan.branch_ip) if service_address else ()
    cls.b = branch(cls.cloud, site, join_token(cls.cloud, site), *extra,
                   url="https://%s:%d" % (cls.wan.cloud_ip, cls.cloud.port),
                   host=cls.wan.branch_ip, netns=cls.wan.ns).start()
    subprocess.run(cls.wan.inside("ip", "route", "add", cls.cloud.subnet, "via",
                                  cls.wan.cloud_ip), check=True)
    ip_forward_hold()
    wait_for(lambda: (manager_of(cls.cloud, site) or {}).get("state") == "active", 20, 0.1,
             site + " active")


def stop_estate(cls):
    ip_forward_release()
    cls.wan.up()
    for d in (cls.b, cls.cloud):
        d.cleanup()
    cls.wan.close()
    cls.pki.close()


class Client:
    """The client loop, run in the branch's network namespace."""

    def __init__(self, wan, endpoint, pause=0.005, managers=()):
        addr, port = endpoint.rsplit(":", 1)
        self.managers = managers
        self.stop_file = tempfile.mktemp(prefix="vnfm-client-stop-")
        self.proc = subprocess.Popen(wan.inside("/usr/bin/python3", "-c", CLIENT, addr, port,
                                                self.stop_file, str(pause)),
                                     stdout=subprocess.PIPE, text=True)
        self.got = None

    def result(self):
        """Stops the loop: what it counted."""
        if self.got is None:
            open(self.stop_file, "w").close()
            self.got = json.loads(self.proc.communicate(timeout=30)[0])
            os.unlink(self.stop_file)
            if self.got["fail"]:
                self.got["log"] = self.log_near_errors()
        return self.got

    def log_near_errors(self):
        """The managers' log lines within a second of the failed requests: what a
        failure's message shows."""
        stamps = [float(e.split(" ", 1)[0]) for e in self.got["errors"]
                  if re.match(r"[0-9.]+ ", e)]
        out = []
        for d in self.managers:
            for line in d.log().splitlines():
                m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ", line)
                t = m and calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + \
                    float("0" + m.group(1)[19:])
                if t and any(abs(t - s) <= 1.0 for s in stamps):
                    out.append("%s: %s" % (d.tag, line))
        return out


def vnfd(vnfd_id, **patch):
    doc = demo(vnfd_id, **patch)
    doc["vdus"][0]["ready"] = {"http": {"port": 8080, "path": "/healthz"}, "timeout_s": 10}
    return doc


class Estate:
    """What the tests of moves in an estate of start_estate (self.cloud, self.b, self.wan,
    the branch's site self.SITE) do."""

    def client(self, endpoint):
        c = Client(self.wan, endpoint, managers=(self.cloud, self.b))
        self.addCleanup(c.result)
        return c

    def tearDown(self):
        self.wan.up()
        for d in (self.cloud, self.b):
            if d.proc and d.proc.poll() is None:
                d.undeploy_all()

    def deploy_at_branch(self, name, doc):
        self.cloud.onboard(doc)
        op = self.cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": doc["id"],
                                                       "site": self.SITE}, expect=(202,))
        self.assertEqual(self.cloud.wait_op(op["id"])["state"], "completed")
        return wait_for(lambda: (lambda d: d if d.get("service_endpoint") else None)(
            self.cloud.deployment(name)), 10, 0.1, "the endpoint of " + name)

    def move(self, name, site, **body):
        body["site"] = site
        op = self.cloud.ok("POST", "/v0/deployments/%s/move" % name, body, expect=(202,))
        self.assertEqual(op["type"], "move")
        return self.cloud.wait_op(op["id"], timeout=120)

    def nft(self):
        return self.b.on_host("nft", "list", "table", "ip", "vnfm_ep_" + self.b.tag,
                              capture_output=True, text=True).stdout

    def at_stage(self, op_id, stage):
        return wait_for(lambda: self.cloud.get("/v0/operations/" + op_id)[1]["stage"] == stage,
                        60, 0.05, "move %s at its %s" % (op_id, stage))


class MoveTest(Estate, unittest.TestCase):
    SITE = "bm"

    @classmethod
    def setUpClass(cls):
        start_estate(cls, cls.SITE)

    @classmethod
    def tearDownClass(cls):
        stop_estate(cls)

    def test_move_to_the_cloud_and_back(self):
        cloud, b = self.cloud, self.b
        dep = self.deploy_at_branch("mv1", vnfd("mv-web"))
        ep = dep["service_endpoint"]
        self.assertTrue(ep.startswith(self.wan.branch_ip + ":"), ep)
        [vi] = b.deployment("mv1")["vis"]
        self.assertIn(vi["ip"], self.nft())  # the endpoint points at the branch VI
        client = self.client(ep)
        time.sleep(1)
        op = self.move("mv1", "cloud", drain_s=1)
        self.assertEqual(op["state"], "completed", json.dumps(op, indent=1))
        self.assertEqual([s["stage"] for s in op["stages"]],
                         ["clone", "switch", "drain", "undeploy"])
        self.assertTrue(all(s["result"] == "ok" for s in op["stages"]), op["stages"])
        time.sleep(1)
        moved = cloud.deployment("mv1")
        self.assertEqual((moved["site"], moved["service_endpoint"]), ("cloud", ep))
        self.assertNotIn("manager", moved)
        self.assertEqual((moved["move"]["from"], moved["move"]["to"], moved["move"]["state"]),
                         ("bm", "cloud", "completed"))
        self.assertFalse(moved.get("operation"))
        [cvi] = moved["vis"]
        # an NFVO sees the move on the cloud through SOL003 too (modify info: the VIM changed)
        occ = SolClient(cloud).occ(op["id"])
        self.assertEqual((occ["operation"], occ["operationState"], occ["vnfInstanceId"]),
                         ("MODIFY_INFO", "COMPLETED", "mv1"))
        self.assertIn(cvi["ip"], self.nft())  # the endpoint points at the clone in the cloud
        wait_for(lambda: b.get("/v0/deployments/mv1")[0] == 404, 10, 0.1, "the original gone")
        got = client.result()
        self.assertGreater(got["ok"], 50, got)
        self.assertEqual(got["fail"], 0, got)
        # and back to the branch, the endpoint the same
        client = self.client(ep)
        time.sleep(1)
        out = cloud.ctl("move", "mv1", "--site", "bm", "--drain", "1", "--wait", "-o", "json")
        self.assertEqual(out.returncode, 0, out.stderr)
        op = json.loads(out.stdout)
        self.assertEqual((op["type"], op["state"]), ("move", "completed"), op)
        for line in ("clone             started", "switch            done",
                     "drain             done", "undeploy          done", "operation completed"):
            self.assertIn(line, out.stderr)
        back = wait_for(lambda: (lambda d: d if d.get("manager") else None)(
            cloud.deployment("mv1")), 10, 0.1, "mv1 mirrored from the branch again")
        self.assertEqual((back["site"], back["service_endpoint"]), ("bm", ep))
        self.assertEqual((back["move"]["from"], back["move"]["to"]), ("cloud", "bm"))
        [vi] = b.deployment("mv1")["vis"]
        self.assertIn(vi["ip"], self.nft())
        got = client.result()
        self.assertGreater(got["ok"], 50, got)
        self.assertEqual(got["fail"], 0, got)
        # nothing of the clone or the original is left in the cloud
        self.assertEqual([d["id"] for d in cloud.get("/v0/deployments")[1]["deployments"]],
                         ["mv1"])
        self.assertEqual(cloud.netns(), [])

    def test_a_cloud_rule_moves_a_quiet_deployment(self):
        """A rule of the cloud's over what the branch reports of a deployment (docs/
        FEDERATION.md "Cloud rules over branch reports") whose action is move: the
        deployment quiet (under 50 requests/s while a slow client uses it), the cloud moves
        it to its own site, make-before-break, the client served throughout; the move's
        operation names the decision, which ends with it. A branch's own rule may not move
        (400 naming the action)."""
        cloud, b = self.cloud, self.b
        doc = vnfd("mv-quiet")
        doc["monitoring"] = {"interval_s": 0.5, "metrics": {"rps": {
            "probe": "http", "port": 8080, "path": "/stats", "json": "requests_per_s_1s",
            "aggregate": "max"}}}
        ep = self.deploy_at_branch("mv9", doc)["service_endpoint"]
        quiet = {"name": "quiet", "metric": "rps", "op": "<", "threshold": 50,
                 "occurrences": 3, "stage": "underloaded", "cooldown_s": 1,
                 "actions": [{"action": "move", "drain_s": 1}]}
        status, err, _ = b.request("PUT", "/v0/deployments/mv9/rules", {"rules": [quiet]})
        self.assertEqual((status, err.get("field")), (400, "rules[0].actions[0].action"), err)
        self.assertIn("move is an action of a cloud VNFM's rules", err["message"])
        status, err, _ = cloud.request("PUT", "/v0/deployments/mv9/rules", {"rules": [
            dict(quiet, actions=[{"action": "move", "vdu": "web"}])]})
        self.assertEqual((status, err.get("field")), (400, "rules[0].actions[0].vdu"), err)
        client = Client(self.wan, ep, pause=0.05, managers=(cloud, b))
        self.addCleanup(client.result)
        cloud.ok("PUT", "/v0/deployments/mv9/rules", {"rules": [quiet]})
        op = cloud.ok("PUT", "/v0/deployments/mv9/rules-owner", {"owner": "cloud"},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        moving = wait_for(lambda: next((o for o in cloud.get(
            "/v0/operations?deployment=mv9&type=move")[1]["operations"]), None), 60, 0.2,
            "the rule's move")
        done = cloud.wait_op(moving["id"], timeout=120)
        self.assertEqual(done["state"], "completed", json.dumps(done, indent=1))
        self.assertEqual((done["to"], done["automatic"], done["params"]["drain_s"]),
                         ("cloud", True, 1), done)
        [d] = [x for x in cloud.get("/v0/decisions?deployment=mv9")[1]["decisions"]
               if x["rule"] == "quiet"]
        self.assertEqual((done["decision"], done["why"]["id"], done["why"]["rule"]),
                         (d["id"], d["id"], "quiet"), done)
        self.assertRegex(d["reason"], r"^rps last < 50")
        d = wait_for(lambda: (lambda x: x if x["state"] != "running" else None)(
            cloud.get("/v0/decisions/" + d["id"])[1]), 10, 0.1, "the decision's end")
        self.assertEqual((d["state"], d["actions"][0]["action"], d["actions"][0]["state"],
                          d["actions"][0]["operation"]), ("completed", "move", "completed",
                                                          done["id"]), d)
        moved = cloud.deployment("mv9")
        self.assertEqual((moved["site"], moved["service_endpoint"]), ("cloud", ep))
        got = client.result()
        self.assertGreater(got["ok"], 10, got)
        self.assertEqual(got["fail"], 0, got)

    def test_a_stopping_vi_leaves_the_endpoint_first(self):
        """A VI that an operation stops leaves the service endpoint in the transaction
        that marks it stopping, before its processes get SIGTERM: while it takes its stop
        grace (this one ignores SIGTERM and serves on), no new connection goes to it."""
        doc = vnfd("mv-grace", command=["/usr/bin/python3", "-c", DEAF_SERVER, "{{ip}}"],
                   stop_grace_s=8)
        doc["vdus"][0]["ready"]["http"]["path"] = "/"
        dep = self.deploy_at_branch("mv9", doc)
        op = self.cloud.ok("POST", "/v0/deployments/mv9/scale", {"vdu": "web", "count": 2},
                           expect=(202,))
        self.assertEqual(self.cloud.wait_op(op["id"])["state"], "completed")
        vis = wait_for(lambda: (lambda v: v if len(v) == 2 else None)(
            self.b.deployment("mv9")["vis"]), 10, 0.1, "two VIs of mv9")
        wait_for(lambda: all(vi["ip"] in self.nft() for vi in vis), 10, 0.1,
                 "both VIs behind the endpoint")
        op = self.cloud.ok("POST", "/v0/deployments/mv9/scale", {"vdu": "web", "count": 1},
                           expect=(202,))
        going = wait_for(lambda: next((vi for vi in self.b.deployment("mv9")["vis"]
                                       if vi["state"] in ("stopping", "destroying")), None),
                         10, 0.05, "a VI of mv9 stopping")
        # the table follows the commit on the manager's loop (a REST read may come between)
        table = wait_for(lambda: (lambda t: t if going["ip"] not in t else None)(self.nft()),
                         5, 0.02, "the stopping VI out of the endpoint")
        self.assertIn(next(vi["ip"] for vi in vis if vi["id"] != going["id"]), table)
        os.kill(going["pid"], 0)  # it still runs: its grace is 8 s
        client = self.client(dep["service_endpoint"])
        time.sleep(1)
        got = client.result()
        self.assertGreater(got["ok"], 10, got)
        self.assertEqual(got["fail"], 0, got)
        self.assertEqual(self.cloud.wait_op(op["id"], timeout=60)["state"], "completed")

    def test_a_starting_vi_joins_the_endpoint_once_ready(self):
        """A VI that a scale out starts takes no connection from the service endpoint
        before its ready check passed: this one runs 2 s before it listens."""
        doc = vnfd("mv-late")
        doc["vdus"][0]["command"] = [
            "sh", "-c", "sleep 2; exec vnf-demo --listen {{ip}}:8080 "
            "--config {{day0_dir}}/demo.conf"]
        dep = self.deploy_at_branch("mv10", doc)
        client = self.client(dep["service_endpoint"])
        op = self.cloud.ok("POST", "/v0/deployments/mv10/scale", {"vdu": "web", "count": 2},
                           expect=(202,))
        late = wait_for(lambda: next((vi for vi in self.b.deployment("mv10")["vis"]
                                      if vi["name"] == "mv10/web/1" and vi["state"] == "running"),
                                     None), 10, 0.05, "the new VI of mv10 running")
        self.assertFalse(late.get("ready"), late)  # it does not listen yet
        self.assertNotIn(late["ip"], self.nft())
        self.assertEqual(self.cloud.wait_op(op["id"])["state"], "completed")
        wait_for(lambda: late["ip"] in self.nft(), 10, 0.1, "the new VI behind the endpoint")
        time.sleep(1)
        got = client.result()
        self.assertEqual(got["fail"], 0, got)
        self.assertIn(late["name"], got["who"], got)

    def test_the_endpoint_leads_to_the_service_vdu_only(self):
        """A VNF of two VDUs: the endpoint's backends are the instances of the VDU
        that answers the service (the first with a readiness port), not the other's,
        which does not listen on that port."""
        doc = vnfd("mv-two")
        doc["vdus"].append({"id": "side", "command": ["sleep", "600"], "vcpu": 0.1,
                            "memory_mb": 16, "stop_grace_s": 1})
        dep = self.deploy_at_branch("mv11", doc)
        vis = {vi["vdu"]: vi for vi in self.b.deployment("mv11")["vis"]}
        self.assertEqual(set(vis), {"web", "side"})
        table = self.nft()
        self.assertIn(vis["web"]["ip"], table)
        self.assertNotIn(vis["side"]["ip"], table)
        client = self.client(dep["service_endpoint"])
        time.sleep(1)
        got = client.result()
        self.assertGreater(got["ok"], 10, got)
        self.assertEqual(got["fail"], 0, got)

    def test_clone_never_ready_rolls_back(self):
        """A clone that never passes its probes (at the cloud's site the VNF does not
        listen): the move rolls back, the original serves on, the clone is gone."""
        doc = vnfd("mv-bad", command=[
            "sh", "-c", "[ {{site}} = cloud ] && exec sleep 600; exec vnf-demo --listen "
            "{{ip}}:8080 --config {{day0_dir}}/demo.conf"])
        doc["vdus"][0]["ready"]["timeout_s"] = 2
        doc["retry"] = {"attempts": 1, "backoff_ms": 50}
        dep = self.deploy_at_branch("mv2", doc)
        client = self.client(dep["service_endpoint"])
        op = self.move("mv2", "cloud")
        self.assertEqual(op["state"], "rolled_back", json.dumps(op, indent=1))
        self.assertIn("clone", op["error"])
        self.assertEqual([(s["stage"], s["result"]) for s in op["stages"]],
                         [("clone", "failed"), ("unclone", "ok")])
        dep = self.cloud.deployment("mv2")
        self.assertEqual((dep["site"], dep["move"]["state"]), ("bm", "rolled_back"))
        self.assertFalse(dep.get("operation"))
        self.assertEqual(self.b.deployment("mv2")["status"], "active")
        wait_for(lambda: [d["id"] for d in self.cloud.get("/v0/deployments")[1]["deployments"]]
                 == ["mv2"], 20, 0.2, "the clone gone")
        got = client.result()
        self.assertEqual(got["fail"], 0, got)

    def restart_branch(self):
        """The branch manager started again after a kill: no token needed."""
        if "--join-token" in self.b.extra:
            i = self.b.extra.index("--join-token")
            self.b.extra[i:i + 2] = []
        self.b.start()

    def one_copy_in_the_cloud(self, name, ep):
        """Exactly one serving copy, in the cloud, and the endpoint pointing at it."""
        dep = self.cloud.deployment(name)
        self.assertEqual((dep["site"], dep["service_endpoint"]), ("cloud", ep))
        self.assertEqual([d["id"] for d in self.cloud.get("/v0/deployments")[1]["deployments"]],
                         [name])
        wait_for(lambda: self.b.get("/v0/deployments/" + name)[0] == 404, 20, 0.1,
                 "the original gone at the branch")
        [vi] = dep["vis"]
        self.assertIn(vi["ip"], self.nft())
        self.assertEqual(len(self.cloud.netns()), 1)

    def test_cloud_kill9_during_a_move(self):
        dep = self.deploy_at_branch("mv5", vnfd("mv-k1"))
        client = self.client(dep["service_endpoint"])
        op = self.cloud.ok("POST", "/v0/deployments/mv5/move", {"site": "cloud", "drain_s": 4},
                           expect=(202,))
        self.at_stage(op["id"], "drain")
        self.cloud.kill9()
        self.cloud.restart()
        op = self.cloud.wait_op(op["id"], timeout=60)
        self.assertEqual(op["state"], "completed", json.dumps(op, indent=1))
        self.one_copy_in_the_cloud("mv5", dep["service_endpoint"])
        got = client.result()
        self.assertEqual(got["fail"], 0, got)
        self.assertGreater(got["ok"], 50, got)

    def test_branch_kill9_during_a_move(self):
        dep = self.deploy_at_branch("mv6", vnfd("mv-k2"))
        op = self.cloud.ok("POST", "/v0/deployments/mv6/move", {"site": "cloud", "drain_s": 3},
                           expect=(202,))
        self.at_stage(op["id"], "drain")
        self.b.kill9()  # the endpoint is the kernel's: it goes on without its manager
        client = self.client(dep["service_endpoint"])
        time.sleep(4)  # the undeploy of the original waits for the branch
        self.assertEqual(self.cloud.get("/v0/operations/" + op["id"])[1]["stage"], "undeploy")
        self.restart_branch()
        op = self.cloud.wait_op(op["id"], timeout=60)
        self.assertEqual(op["state"], "completed", json.dumps(op, indent=1))
        self.one_copy_in_the_cloud("mv6", dep["service_endpoint"])
        got = client.result()
        self.assertEqual(got["fail"], 0, got)

    def test_cloud_kill9_during_the_clone(self):
        """The cloud killed while its clone starts (it answers only after 5 s): its
        engine resumes the clone's deploy, and the move goes on from there."""
        doc = vnfd("mv-k3", command=[
            "sh", "-c", "[ {{site}} = cloud ] && sleep 5; exec vnf-demo --listen {{ip}}:8080 "
            "--config {{day0_dir}}/demo.conf"])
        doc["vdus"][0]["ready"]["timeout_s"] = 30
        dep = self.deploy_at_branch("mv8", doc)
        client = self.client(dep["service_endpoint"])
        op = self.cloud.ok("POST", "/v0/deployments/mv8/move", {"site": "cloud", "drain_s": 1},
                           expect=(202,))
        time.sleep(1)
        self.assertEqual(self.cloud.get("/v0/operations/" + op["id"])[1]["stage"], "clone")
        self.cloud.kill9()
        self.cloud.restart()
        op = self.cloud.wait_op(op["id"], timeout=90)
        self.assertEqual(op["state"], "completed", json.dumps(op, indent=1))
        self.one_copy_in_the_cloud("mv8", dep["service_endpoint"])
        got = client.result()
        self.assertEqual(got["fail"], 0, got)

    def test_branch_kill9_during_the_clone_of_a_move_back(self):
        """The branch manager killed while the clone of a move back starts there (its
        VNF answers 5 s after it starts at the branch): it resumes its deploy when it
        starts again, and the move completes, back at the branch."""
        doc = vnfd("mv-k4", command=[
            "sh", "-c", "[ {{site}} = bm ] && sleep 5; exec vnf-demo --listen {{ip}}:8080 "
            "--config {{day0_dir}}/demo.conf"])
        doc["vdus"][0]["ready"]["timeout_s"] = 30
        dep = self.deploy_at_branch("mv10", doc)
        self.assertEqual(self.move("mv10", "cloud", drain_s=0)["state"], "completed")
        client = self.client(dep["service_endpoint"])
        op = self.cloud.ok("POST", "/v0/deployments/mv10/move", {"site": "bm", "drain_s": 1},
                           expect=(202,))
        wait_for(lambda: self.b.get("/v0/deployments/mv10")[0] == 200, 20, 0.05,
                 "the clone at the branch")
        self.assertEqual(self.cloud.get("/v0/operations/" + op["id"])[1]["stage"], "clone")
        self.b.kill9()  # the endpoint still points at the cloud: its clients go on
        self.restart_branch()
        op = self.cloud.wait_op(op["id"], timeout=90)
        self.assertEqual(op["state"], "completed", json.dumps(op, indent=1))
        back = wait_for(lambda: (lambda d: d if d.get("manager") else None)(
            self.cloud.deployment("mv10")), 20, 0.1, "mv10 mirrored from the branch again")
        self.assertEqual((back["site"], back["service_endpoint"]), ("bm", dep["service_endpoint"]))
        [vi] = self.b.deployment("mv10")["vis"]
        self.assertIn(vi["ip"], self.nft())
        wait_for(lambda: [d["id"] for d in self.cloud.get("/v0/deployments")[1]["deployments"]]
                 == ["mv10"] and not self.cloud.netns(), 20, 0.2, "nothing left in the cloud")
        got = client.result()
        self.assertEqual(got["fail"], 0, got)

    def test_wan_cut_after_the_switch(self):
        """The WAN goes down during the drain: the service is in the cloud, the
        original's undeploy waits for the branch, and the move completes when the
        WAN is back, with one copy."""
        dep = self.deploy_at_branch("mv9", vnfd("mv-w2"))
        op = self.cloud.ok("POST", "/v0/deployments/mv9/move", {"site": "cloud", "drain_s": 2},
                           expect=(202,))
        self.at_stage(op["id"], "drain")
        self.wan.down()
        wait_for(lambda: manager_of(self.cloud, "bm")["state"] == "unreachable", 20, 0.1,
                 "bm unreachable")
        self.assertEqual(self.cloud.get("/v0/operations/" + op["id"])[1]["stage"], "undeploy")
        self.wan.up()
        op = self.cloud.wait_op(op["id"], timeout=60)
        self.assertEqual(op["state"], "completed", json.dumps(op, indent=1))
        self.one_copy_in_the_cloud("mv9", dep["service_endpoint"])

    def test_wan_cut_during_a_move(self):
        """The WAN goes down while the clone starts: the switch cannot reach the
        branch, the move rolls back, and the original at the branch serves its
        clients all along."""
        doc = vnfd("mv-slow", command=[
            "sh", "-c", "[ {{site}} = cloud ] && sleep 5; exec vnf-demo --listen {{ip}}:8080 "
            "--config {{day0_dir}}/demo.conf"])
        doc["vdus"][0]["ready"]["timeout_s"] = 20
        dep = self.deploy_at_branch("mv7", doc)
        client = self.client(dep["service_endpoint"])
        op = self.cloud.ok("POST", "/v0/deployments/mv7/move", {"site": "cloud"},
                           expect=(202,))
        self.wan.down()
        op = self.cloud.wait_op(op["id"], timeout=90)
        self.assertEqual(op["state"], "rolled_back", json.dumps(op, indent=1))
        self.assertIn("bm", op["error"])
        got = client.result()
        self.assertEqual(got["fail"], 0, got)
        self.wan.up()
        wait_for(lambda: manager_of(self.cloud, "bm")["state"] == "active", 20, 0.1, "bm back")
        dep = self.cloud.deployment("mv7")
        self.assertEqual((dep["site"], dep["move"]["state"]), ("bm", "rolled_back"))
        [vi] = self.b.deployment("mv7")["vis"]
        wait_for(lambda: vi["ip"] in self.nft(), 20, 0.1, "the endpoint at the original")
        wait_for(lambda: [d["id"] for d in self.cloud.get("/v0/deployments")[1]["deployments"]]
                 == ["mv7"], 20, 0.2, "the clone gone")

    def test_bad_input(self):
        cloud = self.cloud
        self.deploy_at_branch("mv3", vnfd("mv-web3"))

        def refused(status, field, body, dep="mv3", **kw):
            code, doc, _ = cloud.request("POST", "/v0/deployments/%s/move" % dep, body, **kw)
            self.assertEqual(code, status, doc)
            if field:
                self.assertEqual(doc.get("field"), field, doc)
            return doc

        refused(404, "site", {"site": "nowhere"})
        refused(409, "site", {"site": "bm"})  # where it is
        refused(400, "site", {})
        refused(400, "drain_s", {"site": "cloud", "drain_s": -1})
        refused(404, None, {"site": "cloud"}, dep="nope")
        # a deployment busy with another operation: 409 naming it
        op = cloud.ok("POST", "/v0/deployments/mv3/scale", {"vdu": "web", "count": 2},
                      expect=(202,))
        doc = refused(409, None, {"site": "cloud"})
        self.assertIn(op["id"], doc["message"])
        cloud.wait_op(op["id"])
        wait_for(lambda: not cloud.deployment("mv3").get("operation"), 10, 0.1, "mv3 idle")
        # placement branch-only forbids the cloud's sites
        doc = vnfd("mv-pin")
        doc["placement"] = "branch-only"
        self.deploy_at_branch("mv4", doc)
        refused(409, "placement", {"site": "cloud"}, dep="mv4")
        # another tenant's deployment is not found for a tenant token
        cloud.ok("POST", "/v0/tenants/mv-other", {"name": "other"}, expect=(201, 409))
        tok = cloud.ok("POST", "/v0/tenants/mv-other/tokens")["token"]
        refused(404, None, {"site": "cloud"}, token=tok)
        # nothing changed
        dep = cloud.deployment("mv3")
        self.assertEqual(dep["site"], "bm")
        self.assertNotIn("move", dep)


if __name__ == "__main__":
    unittest.main()
