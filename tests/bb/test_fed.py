"""The hybrid estate (docs/FEDERATION.md, issue 11): a cloud VNFM and branch
VNFMs that join it with single-use tokens, report to it, and show on it as
one estate. Real daemons: one cloud, two branches (one with the process
VIM running a real VNF, one simulated). The WAN is TLS: the cloud serves
with a certificate signed by a CA made here with openssl, and branches
check it (--cloud-ca); plain HTTP (--fed-insecure) only in InsecureTest."""
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from vnfm import Daemon, Wan, http_get, tcp_answers, wait_for
from test_deploy import demo, script
from test_sol003 import Listener, SolClient, sol_vnfd
from test_tls import make_ca, make_server_cert


class Pki:
    """A CA made with openssl, and a certificate of the cloud's it signed for ips."""

    def __init__(self, ips=("127.0.0.1",)):
        self.dir = tempfile.mkdtemp(prefix="vnfm-fed-pki-")
        ca = make_ca(self.dir, "ca")
        self.ca = ca[0]
        self.cert, self.key = make_server_cert(self.dir, ca, ips)

    def cloud(self, *extra, **kw):
        """A cloud VNFM (simulated VIM of its own) serving HTTPS with that certificate."""
        return Daemon("--site-driver", "sim", "--tls-cert", self.cert, "--tls-key", self.key,
                      *extra, ca=self.ca, role="cloud", site="cloud", **kw)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def join_token(cloud, site, **body):
    body["site"] = site
    return cloud.ok("POST", "/v0/join-tokens", body, expect=(201,))["token"]


def branch(cloud, site, token, *extra, url=None, **kw):
    """A branch manager joining cloud over TLS, checking its certificate (--cloud-ca)."""
    return Daemon("--cloud-url", url or cloud.url, "--cloud-ca", cloud.ca, "--join-token", token,
                  *extra, role="local", site=site, **kw)


def manager_of(cloud, site):
    ms = [m for m in cloud.get("/v0/managers")[1]["managers"] if m["site"] == site]
    return ms[0] if len(ms) == 1 else None


def run_refused(d):
    """Runs the branch manager d, which must exit 1: its stderr."""
    p = subprocess.run(d.args(), capture_output=True, text=True, timeout=60)
    d.cleanup()
    assert p.returncode == 1, "exit status %s:\n%s" % (p.returncode, p.stderr)
    assert not os.path.exists(os.path.join(d.dir, "fed.json"))
    return p.stderr


class OneSimBranch(unittest.TestCase):
    """A cloud VNFM and one branch b1 on the simulated VIM, joined over TLS (cls.mgr
    its manager's id), for the test classes that judge a branch manager."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.cloud = cls.pki.cloud().start()
        cls.b1 = branch(cls.cloud, "b1", join_token(cls.cloud, "b1"), "--site-driver",
                        "sim").start()
        cls.mgr = wait_for(lambda: manager_of(cls.cloud, "b1"), 10, what="b1 joined")["id"]

    @classmethod
    def tearDownClass(cls):
        for d in (cls.b1, cls.cloud):
            d.cleanup()
        cls.pki.close()


class FedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.cloud = cls.pki.cloud().start()
        cls.b1 = branch(cls.cloud, "b1", join_token(cls.cloud, "b1")).start()
        cls.b2 = branch(cls.cloud, "b2", join_token(cls.cloud, "b2"), "--site-driver",
                        "sim").start()

    @classmethod
    def tearDownClass(cls):
        for d in (cls.b1, cls.b2, cls.cloud):
            d.cleanup()
        cls.pki.close()

    def tearDown(self):
        for b in (self.b1, self.b2):
            if b.proc and b.proc.poll() is None:
                b.undeploy_all()

    def restart_b2(self):
        """b2 started again after a kill: no token needed, the same manager."""
        if "--join-token" in self.b2.extra:
            i = self.b2.extra.index("--join-token")
            self.b2.extra[i:i + 2] = []
        self.b2.start()
        return wait_for(lambda: (lambda m: m if m["state"] == "active" else None)(
            manager_of(self.cloud, "b2")), 10, 0.1, "b2 active again")

    def refused(self, site, token, why):
        """A branch that must not join: it exits 1 and says why."""
        err = run_refused(branch(self.cloud, site, token))
        self.assertIn("cannot join the cloud at " + self.cloud.url, err)
        self.assertIn(why, err)

    def test_join(self):
        for b in (self.b1, self.b2):
            m = wait_for(lambda: manager_of(self.cloud, b.site), 10, what="manager of " + b.site)
            self.assertEqual((m["role"], m["state"], m["reachable"]), ("local", "active", True))
            self.assertEqual(m["tag"], b.tag)
            self.assertEqual((m["pid"], m["parent"]), (b.proc.pid, None))  # where it runs
            self.assertIn("cpu", m["load"]["parts"])
            path = os.path.join(b.dir, "fed.json")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path) as f:
                self.assertEqual(json.load(f)["manager"], m["id"])
        sites = {s["id"]: s for s in self.cloud.get("/v0/sites")[1]["sites"]}
        self.assertEqual((sites["b1"]["kind"], sites["b1"]["driver"]), ("branch", "proc"))
        self.assertEqual(sites["b2"]["driver"], "sim")
        # a branch's VIM health is its manager's own check (the API's enum, never its state)
        self.assertEqual(sites["b1"]["vim"], {"health": "ok",
                                              "message": "as the branch's manager checked it"})
        self.assertEqual(sites["b1"]["capacity"]["vcpu"], 8)
        self.assertEqual(sites["b1"]["managers"], [manager_of(self.cloud, "b1")["id"]])
        out = self.cloud.ctl("managers")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("b1", out.stdout)
        self.assertIn("LOAD (PARTS)", out.stdout)
        self.assertIn("b2", self.cloud.ctl("sites").stdout)
        # the tokens are used, and never shown again
        toks = [t for t in self.cloud.get("/v0/join-tokens")[1]["join_tokens"]
                if t["site"] in ("b1", "b2")]
        self.assertEqual(len(toks), 2)
        self.assertTrue(all(t["used"] and "token" not in t and "_hash" not in t for t in toks))
        # join tokens and managers are the admin's
        self.assertEqual(self.cloud.get("/v0/managers", token="nope")[0], 401)
        # a report without a known credential is refused
        status, doc, _ = self.cloud.request("POST", "/fed/v1/report", {"boot": "x", "seq": 1},
                                            token="mgr_0123")
        self.assertEqual(status, 401, doc)

    def test_bad_tokens(self):
        used = join_token(self.cloud, "b7")
        d = branch(self.cloud, "b7", used, "--site-driver", "sim").start()
        d.stop()
        d.cleanup()
        self.refused("b8", used, "join token was already used")
        self.refused("b8", "join_" + "0" * 40, "unknown join token")
        self.refused("b8", join_token(self.cloud, "b9"), "join token is for site b9, not b8")
        short = join_token(self.cloud, "b8", ttl_s=1)
        time.sleep(1.2)
        self.refused("b8", short, "join token expired")
        # a site of the cloud's own cannot be a branch
        status, doc, _ = self.cloud.request("POST", "/v0/join-tokens", {"site": "cloud"})
        self.assertEqual((status, doc.get("field")), (409, "site"), doc)
        self.assertIn("join of site b8 refused: the join token expired", self.cloud.log())

    def test_tls_checked(self):
        """A branch checks the cloud's certificate: one that trusts another CA (or the
        system's) does not join, and its token stays unused; plain HTTP is refused."""
        tok = join_token(self.cloud, "b6")
        other = tempfile.mkdtemp(prefix="vnfm-fed-other-")
        try:
            wrong_ca = make_ca(other, "other")[0]
            for ca in (["--cloud-ca", wrong_ca], []):
                d = Daemon("--cloud-url", self.cloud.url, "--join-token", tok, *ca,
                           role="local", site="b6")
                err = run_refused(d)
                self.assertIn("cannot join the cloud at " + self.cloud.url, err)
                self.assertIn("certificate", err)
        finally:
            shutil.rmtree(other, ignore_errors=True)
        [t] = [t for t in self.cloud.get("/v0/join-tokens")[1]["join_tokens"]
               if t["site"] == "b6"]
        self.assertNotIn("used", t)
        # a cloud URL of plain http:// needs --fed-insecure (InsecureTest)
        err = run_refused(branch(self.cloud, "b6", tok,
                                 url=self.cloud.url.replace("https://", "http://")))
        self.assertIn("--cloud-url must be https:// (plain http:// only with --fed-insecure)",
                      err)

    def test_branch_deployment_on_the_cloud(self):
        b1, cloud = self.b1, self.cloud
        b1.onboard(demo("fed-web"))
        op = b1.ok("POST", "/v0/deployments", {"name": "fw1", "vnfd": "fed-web"}, expect=(202,))
        op = b1.wait_op(op["id"])
        t0 = time.time()
        self.assertEqual(op["state"], "completed")
        dep = wait_for(lambda: (lambda d: d if d.get("status") == "active" else None)(
            cloud.get("/v0/deployments/fw1")[1]), 5, 0.02, "fw1 active on the cloud")
        self.assertLess(time.time() - t0, 1.0)  # a status change shows within a second
        m = manager_of(cloud, "b1")
        self.assertEqual((dep["site"], dep["manager"]), ("b1", m["id"]))
        [vi] = dep["vis"]
        self.assertEqual(vi["state"], "running")
        self.assertTrue(tcp_answers(vi["ip"], 8080))  # the VNF the cloud shows answers
        self.assertIn("fw1", cloud.ctl("deployments").stdout)
        logs = cloud.get("/v0/logs?deployment=fw1")[1]["logs"]
        self.assertTrue(logs)
        self.assertTrue(all(r["site"] == "b1" and r["manager"] == m["id"] for r in logs))
        self.assertIn("completed", " ".join(r["message"] for r in logs))
        op = b1.ok("DELETE", "/v0/deployments/fw1", expect=(202,))
        b1.wait_op(op["id"])
        wait_for(lambda: cloud.get("/v0/deployments/fw1")[0] == 404, 2, 0.02, "fw1 gone")

    def test_unreachable_and_back(self):
        b2, cloud = self.b2, self.cloud
        before = manager_of(cloud, "b2")
        n_managers = len(cloud.get("/v0/managers")[1]["managers"])
        b2.kill9()
        m = wait_for(lambda: (lambda m: m if m["state"] == "unreachable" else None)(
            manager_of(cloud, "b2")), 10, 0.1, "b2 unreachable")
        self.assertFalse(m["reachable"])
        self.assertTrue(m["stale"])
        self.assertEqual(m["since"], m["last_report"])
        site = cloud.get("/v0/sites/b2")[1]
        self.assertEqual(site["vim"], {"health": "unreachable", "message":
                                       "run by the branch's manager, which is unreachable"})
        # a restart needs no token: it reconnects as the same manager
        m = self.restart_b2()
        self.assertEqual(m["id"], before["id"])
        wait_for(lambda: cloud.get("/v0/sites/b2")[1]["vim"]["health"] == "ok", 5, 0.1,
                 "b2's VIM ok again, as b2 checked it")
        self.assertEqual(len(cloud.get("/v0/managers")[1]["managers"]), n_managers)

    def test_cloud_kill9(self):
        b2, cloud = self.b2, self.cloud
        b2.onboard(demo("fed-sim"))
        b2.deploy("fs1", "fed-sim")
        wait_for(lambda: cloud.get("/v0/deployments/fs1")[0] == 200, 5, 0.05, "fs1 on the cloud")
        n_events = len(cloud.get("/v0/logs?deployment=fs1")[1]["logs"])
        cloud.kill9()
        op = b2.ok("POST", "/v0/deployments/fs1/scale", {"vdu": "web", "count": 2},
                   expect=(202,))
        b2.wait_op(op["id"])  # the branch goes on alone
        cloud.restart()
        dep = wait_for(lambda: (lambda d: d if len(d.get("vis", [])) == 2 else None)(
            cloud.get("/v0/deployments/fs1")[1]), 10, 0.1, "fs1 scaled on the cloud")
        self.assertEqual(dep["manager"], manager_of(cloud, "b2")["id"])
        logs = cloud.get("/v0/logs?deployment=fs1")[1]["logs"]
        seqs = [r["branch_seq"] for r in logs]
        self.assertEqual(len(seqs), len(set(seqs)))  # no event stored twice
        self.assertGreater(len(logs), n_events)  # the scale's, sent after the cut
        self.assertEqual(manager_of(cloud, "b2")["state"], "active")

    def test_deploy_through_the_cloud(self):
        b1, cloud = self.b1, self.cloud
        cloud.onboard(demo("fed-cw"))
        op = cloud.ok("POST", "/v0/deployments", {"name": "cw1", "vnfd": "fed-cw", "site": "b1"},
                      expect=(202,))
        self.assertEqual((op["site"], op["type"]), ("b1", "deploy"))
        op = cloud.wait_op(op["id"])
        self.assertEqual(op["state"], "completed", op)
        dep = cloud.deployment("cw1")
        self.assertEqual((dep["status"], dep["manager"]), ("active", manager_of(cloud, "b1")["id"]))
        # the manager lists what it runs
        self.assertIn(dep["id"], cloud.get("/v0/managers/" + dep["manager"])[1]["deployment_ids"])
        [vi] = dep["vis"]
        self.assertTrue(tcp_answers(vi["ip"], 8080))  # the VNF at the branch answers
        # the branch ran it with its own engine, keyed by the cloud's operation
        bops = b1.get("/v0/operations?deployment=cw1")[1]["operations"]
        self.assertEqual([o["client_transaction_id"] for o in bops], [op["id"]])
        op = cloud.ok("POST", "/v0/deployments/cw1/scale", {"vdu": "web", "count": 2},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        wait_for(lambda: len(cloud.deployment("cw1")["vis"]) == 2, 3, 0.05, "2 VIs on the cloud")
        self.assertEqual(len(b1.deployment("cw1")["vis"]), 2)
        op = cloud.ok("DELETE", "/v0/deployments/cw1", expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        wait_for(lambda: cloud.get("/v0/deployments/cw1")[0] == 404, 3, 0.05, "cw1 gone")
        self.assertEqual(b1.get("/v0/deployments/cw1")[0], 404)
        # what the branch refuses ends the cloud's operation with its reason
        op = cloud.ok("POST", "/v0/deployments", {"name": "cw2", "vnfd": "fed-cw", "site": "b1",
                                                  "instances": {"web": 9}}, expect=(202,))
        op = cloud.wait_op(op["id"])
        self.assertEqual(op["state"], "failed")
        self.assertIn("scaling.max", op["error"])  # the branch's reason
        self.assertEqual(cloud.get("/v0/deployments/cw2")[0], 404)

    def test_two_tenants_one_name_across_the_estate(self):
        """Names per tenant (docs/SECURITY.md): two tenants deploy `tdb` of their own VNFD
        `tvnfd` through the cloud onto one branch; the cloud mirrors both, each tenant sees
        and removes its own."""
        b2, cloud = self.b2, self.cloud
        tok = {}
        for t in ("fed-acme", "fed-beta"):
            cloud.ok("POST", "/v0/tenants", {"id": t})
            tok[t] = cloud.ok("POST", "/v0/tenants/%s/tokens" % t)["token"]
            self.assertEqual(cloud.post("/v0/vnfds", demo("tvnfd"), token=tok[t])[0], 201)
            op = cloud.ok("POST", "/v0/deployments", {"name": "tdb", "vnfd": "tvnfd",
                                                      "site": "b2"}, expect=(202,), token=tok[t])
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed", op)
        for t in tok:
            dep = wait_for(lambda: (lambda d: d if d.get("status") == "active" else None)(
                cloud.get("/v0/deployments/tdb", token=tok[t])[1]), 5, 0.05, "tdb of " + t)
            self.assertEqual((dep["id"], dep["tenant"], dep["vnfd"], dep["site"]),
                             ("tdb", t, "tvnfd", "b2"))
            self.assertEqual(b2.get("/v0/deployments/%s:tdb" % t)[1]["tenant"], t)
        listed = [(d["id"], d["tenant"]) for d in cloud.get("/v0/deployments")[1]["deployments"]]
        self.assertEqual(sorted(x for x in listed if x[0] == "tdb"),
                         [("tdb", "fed-acme"), ("tdb", "fed-beta")])
        for t in tok:
            op = cloud.ok("DELETE", "/v0/deployments/tdb", expect=(202,), token=tok[t])
            self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
            self.assertEqual(cloud.get("/v0/deployments/tdb", token=tok[t])[0], 404)
        wait_for(lambda: not [d for d in cloud.get("/v0/deployments")[1]["deployments"]
                              if d["id"] == "tdb"], 3, 0.05, "both gone on the cloud")

    def test_sol003_through_the_cloud(self):
        """An NFVO sees one VNFM: a VNF instance instantiated on the cloud with a
        branch's VIM runs at that branch; scale, heal and terminate through the
        cloud's SOL003 go to its manager, with the cloud's notifications."""
        b1, cloud = self.b1, self.cloud
        cloud.onboard(sol_vnfd("fed-sol"))
        hook = Listener()
        self.addCleanup(hook.close)
        sol = SolClient(cloud)
        sub, _ = sol.ok("POST", "/subscriptions", {"callbackUri": hook.url}, expect=(201,))
        self.addCleanup(sol.call, "DELETE", "/subscriptions/" + sub["id"])
        iid = sol.create("fed-sol", vnfInstanceName="at-b1")["id"]
        self.addCleanup(sol.call, "DELETE", "/vnf_instances/" + iid)
        vim = [{"id": "branch", "vimId": "b1", "vimType": "vnfm.proc"}]
        occ = sol.run(iid, "instantiate", {"flavourId": "default", "vimConnectionInfo": vim,
                                           "additionalParams": {"greeting": "from b1"}})
        self.assertEqual(occ["operation"], "INSTANTIATE")
        # it runs at the branch, under the cloud's occurrence id, and answers
        self.assertEqual(cloud.deployment(iid)["manager"], manager_of(cloud, "b1")["id"])
        bops = b1.get("/v0/operations?deployment=" + iid)[1]["operations"]
        self.assertEqual([o["client_transaction_id"] for o in bops], [occ["id"]])
        inst = wait_for(lambda: (lambda i: i if len(i.get("instantiatedVnfInfo", {}).get(
            "vnfcResourceInfo", [])) == 1 else None)(sol.instance(iid)), 5, 0.05, "its VNFC")
        self.assertEqual(inst["instantiationState"], "INSTANTIATED")
        [vnfc] = inst["instantiatedVnfInfo"]["vnfcResourceInfo"]
        self.assertEqual(vnfc["computeResource"]["vimConnectionId"], "b1")
        self.assertIn("from b1", http_get("http://%s:8080/" % vnfc["metadata"]["ip"])[1])
        wait_for(lambda: len(hook.for_op(occ["id"])) == 3, 10, what="instantiate notifications")
        self.assertEqual(hook.for_op(occ["id"]), [("START", "STARTING"), ("RESULT", "PROCESSING"),
                                                  ("RESULT", "COMPLETED")])
        # scale out by the aspect, at the branch
        occ = sol.run(iid, "scale", {"type": "SCALE_OUT", "aspectId": "web"})
        self.assertEqual(occ["operation"], "SCALE")
        self.assertEqual(len(b1.deployment(iid)["vis"]), 2)
        wait_for(lambda: len(sol.instance(iid)["instantiatedVnfInfo"]["vnfcResourceInfo"]) == 2,
                 5, 0.05, "2 VNFCs on the cloud")
        self.assertEqual(sol.instance(iid)["instantiatedVnfInfo"]["scaleStatus"][0]["scaleLevel"],
                         1)
        # heal a VNFC killed at the branch (the VNFD's restart policy is never)
        vi = b1.deployment(iid)["vis"][0]
        os.kill(vi["pid"], 9)
        wait_for(lambda: [v for v in b1.deployment(iid)["vis"] if v["id"] == vi["id"] and
                          v["state"] == "exited"], 10, 0.05, "the exit seen at the branch")
        occ = sol.run(iid, "heal", {"vnfcInstanceId": [vi["id"]], "cause": "killed"})
        self.assertEqual(occ["operation"], "HEAL")
        healed = [v for v in b1.deployment(iid)["vis"] if v["id"] == vi["id"]][0]
        self.assertEqual(healed["state"], "running")
        self.assertNotEqual(healed["pid"], vi["pid"])
        # terminate: gone at the branch, NOT_INSTANTIATED on the cloud, then deleted
        occ = sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})
        self.assertEqual(occ["operation"], "TERMINATE")
        self.assertEqual(b1.get("/v0/deployments/" + iid)[0], 404)
        inst = wait_for(lambda: (lambda i: i if i["instantiationState"] == "NOT_INSTANTIATED"
                                 else None)(sol.instance(iid)), 5, 0.05, "NOT_INSTANTIATED")
        self.assertNotIn("manager", cloud.deployment(iid))
        wait_for(lambda: len(hook.for_op(occ["id"])) == 3, 10, what="terminate notifications")
        self.assertEqual(hook.for_op(occ["id"])[-1], ("RESULT", "COMPLETED"))
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))
        wait_for(lambda: hook.of_type("VnfIdentifierDeletionNotification", iid), 10)

    def test_sol003_tasks_through_the_cloud(self):
        """Modify, operate, scale to level and change flavour of a VNF instance
        at a branch, through the cloud's SOL003: each is the native operation
        at the branch, seen there, with the cloud's notifications in order;
        what cannot be done is refused with the field or state named, and
        nothing changes."""
        b1, cloud = self.b1, self.cloud
        cloud.onboard(sol_vnfd("fed-tasks"))
        hook = Listener()
        self.addCleanup(hook.close)
        sol = SolClient(cloud)
        sub, _ = sol.ok("POST", "/subscriptions", {"callbackUri": hook.url}, expect=(201,))
        self.addCleanup(sol.call, "DELETE", "/subscriptions/" + sub["id"])
        iid = sol.create("fed-tasks", vnfInstanceName="tasks-b1")["id"]
        self.addCleanup(sol.call, "DELETE", "/vnf_instances/" + iid)
        vim = [{"id": "branch", "vimId": "b1", "vimType": "vnfm.proc"}]
        sol.run(iid, "instantiate", {"flavourId": "default", "vimConnectionInfo": vim})
        wait_for(lambda: len(sol.instance(iid).get("instantiatedVnfInfo", {}).get(
            "vnfcResourceInfo", [])) == 1, 5, 0.05, "its VNFC")
        # the branch's record has the instance's information, flavour and level
        dep = b1.deployment(iid)
        self.assertEqual((dep["sol003"]["vnfInstanceName"], dep["flavour"],
                          dep["instantiation_level"]), ("tasks-b1", "default", "default"))
        five = [("START", "STARTING"), ("RESULT", "PROCESSING"), ("RESULT", "COMPLETED")]

        def told(occ):
            wait_for(lambda: len(hook.for_op(occ["id"])) == 3, 10, what="notifications")
            self.assertEqual(hook.for_op(occ["id"]), five)
            bops = [o for o in b1.get("/v0/operations?deployment=" + iid)[1]["operations"]
                    if o.get("client_transaction_id") == occ["id"]]
            self.assertEqual([o["state"] for o in bops], ["completed"], bops)
            return bops[0]

        def idle():
            return wait_for(lambda: (lambda d: d if not d.get("operation") else None)(
                cloud.deployment(iid)), 5, 0.05, "idle on the cloud")

        # modify: the information changes on the cloud and at the branch
        _, hdrs = sol.ok("PATCH", "/vnf_instances/" + iid,
                         {"vnfInstanceName": "renamed", "metadata": {"rack": "r7"}},
                         expect=(202,))
        occ = sol.wait(hdrs["Location"].rsplit("/", 1)[1])
        self.assertEqual((occ["operation"], occ["operationState"]), ("MODIFY_INFO", "COMPLETED"))
        self.assertEqual(told(occ)["type"], "modify_info")
        inst = sol.instance(iid)
        self.assertEqual((inst["vnfInstanceName"], inst["metadata"]), ("renamed", {"rack": "r7"}))
        self.assertEqual(b1.deployment(iid)["sol003"]["vnfInstanceName"], "renamed")
        # a stale If-Match: 412, nothing sent to the branch
        idle()
        status, doc, _ = sol.call("PATCH", "/vnf_instances/" + iid, {"vnfInstanceName": "x"},
                                  headers={"If-Match": '"stale"'})
        self.assertEqual(status, 412, doc)
        self.assertIn("If-Match", doc["detail"])
        self.assertEqual(sol.instance(iid)["vnfInstanceName"], "renamed")
        self.assertEqual(b1.deployment(iid)["sol003"]["vnfInstanceName"], "renamed")
        # an unknown VNFC: 400 naming vnfcInstanceId
        status, doc, _ = sol.call("POST", "/vnf_instances/%s/operate" % iid,
                                  {"changeStateTo": "STOPPED", "vnfcInstanceId": ["nope"]})
        self.assertEqual(status, 400, doc)
        self.assertIn("vnfcInstanceId", doc["detail"])
        self.assertEqual([v["state"] for v in b1.deployment(iid)["vis"]], ["running"])
        # operate: STOPPED stops the VI at the branch, STARTED starts it again
        idle()
        pid = b1.deployment(iid)["vis"][0]["pid"]
        occ = sol.run(iid, "operate", {"changeStateTo": "STOPPED", "stopType": "FORCEFUL"})
        self.assertEqual(occ["operation"], "OPERATE")
        self.assertEqual(told(occ)["type"], "operate")
        self.assertEqual([v["state"] for v in b1.deployment(iid)["vis"]], ["stopped"])
        wait_for(lambda: sol.instance(iid)["instantiatedVnfInfo"].get("vnfState") == "STOPPED",
                 5, 0.05, "STOPPED on the cloud")
        idle()
        status, doc, _ = sol.call("POST", "/vnf_instances/%s/operate" % iid,
                                  {"changeStateTo": "STOPPED"})
        self.assertEqual(status, 409, doc)
        self.assertIn("changeStateTo", doc["detail"])
        status, doc, _ = sol.call("POST", "/vnf_instances/%s/scale_to_level" % iid,
                                  {"scaleInfo": [{"aspectId": "web", "scaleLevel": 1}]})
        self.assertEqual(status, 409, doc)
        self.assertIn("STARTED first", doc["detail"])
        occ = sol.run(iid, "operate", {"changeStateTo": "STARTED"})
        told(occ)
        [vi] = b1.deployment(iid)["vis"]
        self.assertEqual(vi["state"], "running")
        self.assertNotEqual(vi["pid"], pid)
        # scale to level: the VI count at the branch follows the level
        idle()
        occ = sol.run(iid, "scale_to_level", {"scaleInfo": [{"aspectId": "web",
                                                             "scaleLevel": 2}]})
        self.assertEqual(occ["operation"], "SCALE_TO_LEVEL")
        told(occ)
        self.assertEqual(len(b1.deployment(iid)["vis"]), 3)
        wait_for(lambda: len(sol.vnfcs(iid)) == 3, 5, 0.05, "3 VNFCs on the cloud")
        # levels by aspect: no instantiation level any more, at the branch and on the cloud
        self.assertIsNone(b1.deployment(iid).get("instantiation_level"))
        self.assertIsNone(cloud.deployment(iid).get("instantiation_level"))
        # refused: nothing changes, the field is named
        idle()
        before = len(hook.got)
        for task, body, field in (
                ("scale_to_level", {"instantiationLevelId": "nope"}, "instantiationLevelId"),
                ("scale_to_level", {"scaleInfo": [{"aspectId": "web", "scaleLevel": 9}]},
                 "scaleInfo[0]"),
                ("change_flavour", {"newFlavourId": "default"}, "newFlavourId"),
                ("change_flavour", {"newFlavourId": "huge"}, "newFlavourId")):
            status, doc, _ = sol.call("POST", "/vnf_instances/%s/%s" % (iid, task), body)
            self.assertIn(status, (400, 409), doc)
            self.assertIn(field, doc["detail"])
        self.assertEqual(len(b1.deployment(iid)["vis"]), 3)
        self.assertEqual(len(hook.got), before)
        # change flavour: the flavour's level at the branch, the flavour on the cloud
        occ = sol.run(iid, "change_flavour", {"newFlavourId": "large",
                                              "instantiationLevelId": "two"})
        self.assertEqual(occ["operation"], "CHANGE_FLAVOUR")
        told(occ)
        self.assertEqual(len(b1.deployment(iid)["vis"]), 2)
        self.assertEqual(sol.instance(iid)["instantiatedVnfInfo"]["flavourId"], "large")
        # the branch's own record says the same (its own /vnflcm too: the flavour's bounds)
        dep = b1.deployment(iid)
        self.assertEqual((dep["flavour"], dep["instantiation_level"], dep["vnfd"]),
                         ("large", "two", "fed-tasks"))
        bsol = SolClient(b1)
        binst = bsol.instance(iid)
        self.assertEqual((binst["vnfInstanceName"], binst["metadata"], binst["vnfdId"]),
                         ("renamed", {"rack": "r7"}, "fed-tasks"))
        self.assertEqual(binst["instantiatedVnfInfo"]["flavourId"], "large")
        self.assertEqual(binst["instantiatedVnfInfo"]["maxScaleLevels"][0]["scaleLevel"], 2)
        cdep = cloud.deployment(iid)
        self.assertEqual((cdep["flavour"], cdep["instantiation_level"]), ("large", "two"))
        # what changes at the branch reaches the cloud's mirror with the next report
        idle()
        _, hdrs = bsol.ok("PATCH", "/vnf_instances/" + iid, {"metadata": {"row": "4"}},
                          expect=(202,))
        self.assertEqual(bsol.wait(hdrs["Location"].rsplit("/", 1)[1])["operationState"],
                         "COMPLETED")
        wait_for(lambda: sol.instance(iid)["metadata"] == {"rack": "r7", "row": "4"}, 5, 0.05,
                 "the branch's metadata on the cloud")
        self.assertEqual(sol.instance(iid)["vnfInstanceName"], "renamed")
        # retry, rollback of an occurrence that is not FAILED_TEMP: 409 with its state
        for decision in ("retry", "rollback", "cancel"):
            body = {"cancelMode": "GRACEFUL"} if decision == "cancel" else {}
            status, doc, _ = sol.call("POST", "/vnf_lcm_op_occs/%s/%s" % (occ["id"], decision),
                                      body)
            self.assertEqual(status, 409, doc)
            self.assertIn("is COMPLETED", doc["detail"])
        idle()
        sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})

    def test_sol003_decisions_through_the_cloud(self):
        """Retry, rollback, fail and cancel of an occurrence that runs at a
        branch, from the cloud (SOL003 and /v0): the branch's operation
        pauses in FAILED_TEMP as the cloud's own would, the decision goes to
        its manager, which acts, and the cloud's occurrence follows with its
        notifications; with the branch unreachable, 503 and nothing changes."""
        b2, cloud = self.b2, self.cloud
        ok = os.path.join(b2.dir, "decide.ok")  # the new VIs' action passes while it exists
        hold = os.path.join(b2.dir, "decide.hold")  # and waits while this one exists
        act = script(os.path.join(b2.scripts, "decide.sh"),
                     'for i in $(seq 600); do [ -e %s ] || break; sleep 0.05; done\n'
                     '[ -e %s ] || { echo "waiting for %s"; exit 1; }\n' % (hold, ok, ok))
        v = sol_vnfd("fed-decide")
        v["lifecycle"] = {"post_deployment": [{"script": act}]}
        v["retry"] = {"attempts": 2, "backoff_ms": 20}
        cloud.onboard(v)
        open(ok, "w").close()
        hook = Listener()
        self.addCleanup(hook.close)
        sol = SolClient(cloud)
        sub, _ = sol.ok("POST", "/subscriptions", {"callbackUri": hook.url}, expect=(201,))
        self.addCleanup(sol.call, "DELETE", "/subscriptions/" + sub["id"])
        vim = [{"id": "branch", "vimId": "b2", "vimType": "vnfm.sim"}]

        # an instantiate that pauses at the branch, rolled back: nothing left there,
        # NOT_INSTANTIATED on the cloud
        os.remove(ok)
        iid = sol.create("fed-decide")["id"]
        self.addCleanup(sol.call, "DELETE", "/vnf_instances/" + iid)
        occ_id = sol.task(iid, "instantiate", {"flavourId": "default", "vimConnectionInfo": vim})
        occ = sol.wait(occ_id)
        self.assertEqual(occ["operationState"], "FAILED_TEMP", occ)
        self.assertEqual(len(b2.deployment(iid)["vis"]), 1)
        sol.ok("POST", "/vnf_lcm_op_occs/%s/rollback" % occ_id, expect=(202,))
        self.assertEqual(sol.wait(occ_id)["operationState"], "ROLLED_BACK")
        wait_for(lambda: b2.get("/v0/deployments/" + iid)[0] == 404, 5, 0.05, "gone at b2")
        wait_for(lambda: sol.instance(iid)["instantiationState"] == "NOT_INSTANTIATED", 5, 0.05,
                 "NOT_INSTANTIATED on the cloud")
        self.assertNotIn("manager", cloud.deployment(iid))
        open(ok, "w").close()
        sol.run(iid, "instantiate", {"flavourId": "default", "vimConnectionInfo": vim})

        def level(n):
            # the cloud learns that the last operation ended from the branch's next report
            # (a moment after the branch says so): until then it answers 409 busy
            wait_for(lambda: not cloud.deployment(iid).get("operation"), 10, 0.05,
                     "the deployment free on the cloud")
            return sol.task(iid, "scale_to_level", {"scaleInfo": [{"aspectId": "web",
                                                                   "scaleLevel": n}]})

        def bop(occ_id):
            """The branch's operation that the cloud's occ_id follows ({} before it has one)."""
            ops = [o for o in b2.get("/v0/operations?deployment=" + iid)[1]["operations"]
                   if o.get("client_transaction_id") == occ_id]
            self.assertLessEqual(len(ops), 1, ops)
            return ops[0] if ops else {}

        def paused(occ_id):
            occ = sol.wait(occ_id)
            self.assertEqual(occ["operationState"], "FAILED_TEMP", occ)
            self.assertEqual(bop(occ_id)["state"], "failed_temp")
            return occ

        def told(occ_id, states):
            want = [("START", "STARTING")] + [("RESULT", s) for s in states]
            wait_for(lambda: hook.for_op(occ_id) == want, 10, 0.05,
                     "notifications %s, got %s" % (want, hook.for_op(occ_id)))

        def decide(occ_id, what, expect):
            doc, hdrs = sol.ok("POST", "/vnf_lcm_op_occs/%s/%s" % (occ_id, what),
                               expect=(expect,))
            if expect == 202:
                self.assertTrue(hdrs["Location"].endswith("/vnf_lcm_op_occs/" + occ_id))
            return doc

        # retry: paused at the branch; a retry that fails again, then one that passes
        os.remove(ok)
        occ_id = level(1)
        occ = paused(occ_id)
        self.assertIn("waiting for", occ["error"]["detail"])
        self.assertEqual(sorted(occ["_links"]), ["fail", "retry", "rollback", "self",
                                                 "vnfInstance"])
        self.assertEqual(len(b2.deployment(iid)["vis"]), 2)  # what it made is still there
        # (with vnfmctl on the cloud: --wait follows it until it stops again)
        r = cloud.ctl("op", "retry", occ_id, "--wait", "--timeout", "60")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("operation retry", r.stderr)
        self.assertIn("ended in state failed_temp", r.stderr)
        told(occ_id, ["PROCESSING", "FAILED_TEMP", "PROCESSING", "FAILED_TEMP"])
        paused(occ_id)
        open(ok, "w").close()
        decide(occ_id, "retry", 202)
        self.assertEqual(sol.wait(occ_id)["operationState"], "COMPLETED")
        self.assertEqual(bop(occ_id)["state"], "completed")
        told(occ_id, ["PROCESSING", "FAILED_TEMP", "PROCESSING", "FAILED_TEMP", "PROCESSING",
                      "COMPLETED"])
        wait_for(lambda: len(sol.vnfcs(iid)) == 2, 5, 0.05, "2 VNFCs on the cloud")

        # rollback: the VI it added goes, at the branch and on the cloud
        os.remove(ok)
        occ_id = level(2)
        paused(occ_id)
        self.assertEqual(len(b2.deployment(iid)["vis"]), 3)
        decide(occ_id, "rollback", 202)
        occ = sol.wait(occ_id)
        self.assertEqual(occ["operationState"], "ROLLED_BACK", occ)
        self.assertEqual(bop(occ_id)["state"], "rolled_back")
        self.assertEqual(len(b2.deployment(iid)["vis"]), 2)
        wait_for(lambda: len(sol.vnfcs(iid)) == 2, 5, 0.05, "2 VNFCs on the cloud")
        told(occ_id, ["PROCESSING", "FAILED_TEMP", "ROLLING_BACK", "ROLLED_BACK"])
        decide(occ_id, "rollback", 409)

        # the branch unreachable: 503 naming it, nothing changes on either side
        occ_id = level(2)
        paused(occ_id)
        os.kill(b2.proc.pid, signal.SIGSTOP)
        try:
            wait_for(lambda: manager_of(cloud, "b2")["state"] == "unreachable", 15, 0.1,
                     "b2 unreachable")
            for what in ("retry", "rollback", "fail"):
                status, doc, _ = sol.call("POST", "/vnf_lcm_op_occs/%s/%s" % (occ_id, what))
                self.assertEqual(status, 503, doc)
                self.assertIn("branch site b2 is unreachable since", doc["detail"])
            status, doc, _ = cloud.request("POST", "/v0/operations/%s/retry" % occ_id, {})
            self.assertEqual((status, doc["error"], doc["object"]), (503, "site-unreachable", "b2"))
            self.assertEqual(sol.occ(occ_id)["operationState"], "FAILED_TEMP")
        finally:
            os.kill(b2.proc.pid, signal.SIGCONT)
        wait_for(lambda: manager_of(cloud, "b2")["state"] == "active", 15, 0.1, "b2 active")
        self.assertEqual(bop(occ_id)["state"], "failed_temp")
        told(occ_id, ["PROCESSING", "FAILED_TEMP"])

        # fail: FAILED on both sides, at once on the cloud (the 200's occurrence)
        occ = decide(occ_id, "fail", 200)
        self.assertEqual(occ["operationState"], "FAILED")
        self.assertEqual(sol.occ(occ_id)["operationState"], "FAILED")
        self.assertEqual(cloud.get("/v0/operations/" + occ_id)[1]["state"], "failed")
        wait_for(lambda: bop(occ_id)["state"] == "failed", 5, 0.05, "failed at the branch")
        told(occ_id, ["PROCESSING", "FAILED_TEMP", "FAILED"])
        decide(occ_id, "retry", 409)

        # cancel of a running one: it stops in FAILED_TEMP at the branch, then rolls back
        open(ok, "w").close()
        open(hold, "w").close()
        occ_id = level(3)
        wait_for(lambda: bop(occ_id).get("stage") == "post_deployment", 10, 0.05,
                 "in post_deployment at the branch")
        sol.wait(occ_id, ("PROCESSING",), 10)
        sol.ok("POST", "/vnf_lcm_op_occs/%s/cancel" % occ_id, {"cancelMode": "GRACEFUL"},
               expect=(202,))
        occ = sol.occ(occ_id)
        self.assertEqual((occ["operationState"], occ["isCancelPending"]), ("PROCESSING", True))
        # the branch has the cancel (the cloud passes it on over the branch's channel)
        # before its action may end
        wait_for(lambda: bop(occ_id).get("cancel_mode") == "GRACEFUL", 10, 0.05,
                 "the cancel at the branch")
        os.remove(hold)
        occ = paused(occ_id)
        self.assertIn("cancelled (GRACEFUL)", occ["error"]["detail"])
        self.assertFalse(occ["isCancelPending"])
        decide(occ_id, "rollback", 202)
        self.assertEqual(sol.wait(occ_id)["operationState"], "ROLLED_BACK")
        told(occ_id, ["PROCESSING", "FAILED_TEMP", "ROLLING_BACK", "ROLLED_BACK"])
        wait_for(lambda: not cloud.deployment(iid).get("operation"), 5, 0.05, "idle")
        sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})

    def test_a_decision_the_branch_refuses_is_put_back(self):
        """A rollback of a rescale that began to remove instances at the
        branch (the cloud cannot see how far it went): the cloud takes it
        (ROLLING_BACK), the branch refuses it (422), and the cloud's
        occurrence goes back to FAILED_TEMP with the branch's reason in its
        log; a retry then completes it."""
        b2, cloud = self.b2, self.cloud
        v = sol_vnfd("fed-putback")
        v["retry"] = {"attempts": 2, "backoff_ms": 20}
        cloud.onboard(v)
        sol = SolClient(cloud)
        vim = [{"id": "branch", "vimId": "b2", "vimType": "vnfm.sim"}]
        iid = sol.create("fed-putback")["id"]
        self.addCleanup(sol.call, "DELETE", "/vnf_instances/" + iid)
        sol.run(iid, "instantiate", {"flavourId": "default", "vimConnectionInfo": vim})
        scale = {"scaleInfo": [{"aspectId": "web", "scaleLevel": 1}]}
        sol.run(iid, "scale_to_level", scale)
        wait_for(lambda: len(sol.vnfcs(iid)) == 2, 5, 0.05, "2 VNFCs on the cloud")

        # the branch's VIM fails every destroy: the rescale to level 0 stops
        # in FAILED_TEMP once it began to remove the instance
        b2.ok("PUT", "/v0/sites/b2", {"options": {"fail_rate": 1, "fail_ops": ["destroy"]}})
        try:
            occ_id = sol.task(iid, "scale_to_level",
                              {"scaleInfo": [{"aspectId": "web", "scaleLevel": 0}]})
            self.assertEqual(sol.wait(occ_id)["operationState"], "FAILED_TEMP")
            sol.ok("POST", "/vnf_lcm_op_occs/%s/rollback" % occ_id, expect=(202,))
            wait_for(lambda: [r for r in cloud.get("/v0/logs?operation=%s&limit=100"
                                                   % occ_id)[1]["logs"]
                              if "refused the rollback" in r["message"]], 10, 0.05,
                     "the branch's refusal on the cloud")
            occ = sol.wait(occ_id, ("FAILED_TEMP",), 10)
            self.assertEqual(occ["operationState"], "FAILED_TEMP", occ)
            self.assertEqual(cloud.get("/v0/operations/" + occ_id)[1]["state"], "failed_temp")
            [r] = [r for r in cloud.get("/v0/logs?operation=%s&limit=100" % occ_id)[1]["logs"]
                   if "refused the rollback" in r["message"]]
            self.assertEqual(r["level"], "warn")
            self.assertIn("cannot be rolled back", r["message"])
        finally:
            b2.ok("PUT", "/v0/sites/b2", {"options": {"fail_rate": 0}})
        sol.ok("POST", "/vnf_lcm_op_occs/%s/retry" % occ_id, expect=(202,))
        self.assertEqual(sol.wait(occ_id)["operationState"], "COMPLETED")
        wait_for(lambda: len(sol.vnfcs(iid)) == 1, 5, 0.05, "1 VNFC on the cloud")
        sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})

    def test_unreachable_site_refuses(self):
        b2, cloud = self.b2, self.cloud
        cloud.onboard(demo("fed-u"))
        op = cloud.ok("POST", "/v0/deployments", {"name": "u1", "vnfd": "fed-u", "site": "b2"},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        b2.kill9()
        wait_for(lambda: manager_of(cloud, "b2")["state"] == "unreachable", 10, 0.1,
                 "b2 unreachable")
        status, doc, _ = cloud.request("POST", "/v0/deployments",
                                       {"name": "u2", "vnfd": "fed-u", "site": "b2"})
        self.assertEqual((status, doc["error"], doc["object"]), (503, "site-unreachable", "b2"))
        self.assertIn("unreachable since", doc["message"])
        status, doc, _ = cloud.request("DELETE", "/v0/deployments/u1")
        self.assertEqual(status, 503, doc)
        self.restart_b2()
        # the simulated VIs went with their manager: it deploys them again first
        wait_for(lambda: cloud.deployment("u1").get("status") == "active" and
                 not cloud.deployment("u1").get("operation"), 10, 0.1, "u1 idle")
        op = cloud.ok("DELETE", "/v0/deployments/u1", expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")

    def test_instruction_applied_once(self):
        """An instruction in flight when the branch is killed is sent again
        on the new channel, and applied once."""
        b2, cloud = self.b2, self.cloud
        cloud.onboard(demo("fed-o"))
        op = cloud.ok("POST", "/v0/deployments", {"name": "o1", "vnfd": "fed-o", "site": "b2"},
                      expect=(202,))
        b2.kill9()
        self.restart_b2()
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        bops = b2.get("/v0/operations?deployment=o1")[1]["operations"]
        self.assertEqual(len([o for o in bops if o["type"] == "deploy"]), 1, bops)

    def test_remove_manager(self):
        """An operator removes a branch manager from the estate: refused while
        it runs deployments, then with --force; its credential is refused,
        its deployments leave the cloud's view and keep running at the
        branch, under its own rules again; a new token brings it back."""
        cloud = self.cloud
        b8 = branch(cloud, "b8", join_token(cloud, "b8"), "--site-driver", "sim").start()
        self.addCleanup(b8.cleanup)
        m = wait_for(lambda: manager_of(cloud, "b8"), 10, what="manager of b8")
        cloud.onboard(demo("fed-rm"))
        op = cloud.ok("POST", "/v0/deployments", {"name": "rm1", "vnfd": "fed-rm", "site": "b8"},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        op = cloud.ok("PUT", "/v0/deployments/rm1/rules-owner", {"owner": "cloud"},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        wait_for(lambda: b8.get("/v0/deployments/rm1")[1].get("rules_owner") == "cloud", 10,
                 what="the cloud's rules decide for rm1")
        # refused while it runs a deployment: nothing changes
        status, err, _ = cloud.request("DELETE", "/v0/managers/" + m["id"])
        self.assertEqual(status, 409, err)
        self.assertIn("runs 1 deployment", err["message"])
        self.assertEqual(manager_of(cloud, "b8")["state"], "active")
        self.assertEqual(cloud.get("/v0/deployments/rm1")[0], 200)
        # a tenant may not, an unknown manager is 404
        self.assertEqual(cloud.request("DELETE", "/v0/managers/" + m["id"], token="nope")[0], 401)
        self.assertEqual(cloud.request("DELETE", "/v0/managers/mgr-0000000000")[0], 404)
        out = cloud.ctl("manager", "remove", m["id"], "--force")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("removed", out.stdout)
        self.assertEqual(manager_of(cloud, "b8")["state"], "removed")
        self.assertEqual(cloud.get("/v0/deployments/rm1")[0], 404)
        self.assertNotIn(m["id"], cloud.get("/v0/sites/b8")[1]["managers"])
        self.assertEqual(cloud.ok("DELETE", "/v0/managers/" + m["id"])["state"], "removed")
        # the branch goes on alone: its deployment runs, its own rules decide again
        wait_for(lambda: "refuses manager" in b8.log(), 10, what="the branch told it is refused")
        dep = wait_for(lambda: (lambda d: d if d.get("rules_owner") == "branch" else None)(
            b8.get("/v0/deployments/rm1")[1]), 10, what="the branch's rules decide for rm1")
        self.assertEqual(dep["status"], "active")
        with open(os.path.join(b8.dir, "fed.json")) as f:
            cred = json.load(f)["credential"]
        status, doc, _ = cloud.request("POST", "/fed/v1/report", {"boot": "x", "seq": 10**9},
                                       token=cred)
        self.assertEqual(status, 401, doc)
        self.assertIn("removed", doc["message"])
        # back with a new token: the same instance, so the same manager, with a new
        # credential (the old one stays refused); its deployment comes back as it is
        b8.stop()
        os.unlink(os.path.join(b8.dir, "fed.json"))
        b8.extra[b8.extra.index("--join-token") + 1] = join_token(cloud, "b8")
        b8.start()
        wait_for(lambda: manager_of(cloud, "b8")["state"] == "active", 10, what="b8 joined again")
        self.assertEqual(manager_of(cloud, "b8")["id"], m["id"])
        self.assertEqual(cloud.request("POST", "/fed/v1/report", {"boot": "x", "seq": 10**9},
                                       token=cred)[0], 401)
        self.assertIn(m["id"], cloud.get("/v0/sites/b8")[1]["managers"])
        wait_for(lambda: cloud.get("/v0/deployments/rm1")[0] == 200, 10, what="rm1 mirrored")
        self.assertEqual(b8.get("/v0/deployments/rm1")[1]["status"], "active")


class FirstReportTest(unittest.TestCase):
    """A branch manager spoken for by the test over the federation protocol (no channel:
    no instruction reaches it)."""

    def setUp(self):
        self.pki = Pki()
        self.cloud = self.pki.cloud().start()
        self.addCleanup(self.pki.close)
        self.addCleanup(self.cloud.cleanup)

    def report(self, cred, seq, deployments):
        body = {"boot": "first", "seq": seq, "full": True,
                "load": {"value": 0.1, "parts": {"cpu": 0.1}},
                "site_state": {"capacity": {"vcpu": 8, "memory_mb": 4096},
                               "allocated": {"vcpu": 0, "memory_mb": 0, "disk_mb": 0, "vis": 0}},
                "metrics": {}, "deployments": deployments, "events": [], "results": [],
                "operations": []}
        status, doc, _ = self.cloud.request("POST", "/fed/v1/report", body, token=cred)
        self.assertEqual(status, 200, doc)

    def test_a_deploy_not_delivered_yet_outlives_a_full_report(self):
        """A branch's first report is full; sent before the deploy instruction reached it
        (its channel comes up later), it does not have the deployment yet: the cloud keeps
        its instance as it is, and mirrors it once the branch reports it. (A full report
        reset an instantiating SOL003 instance to NOT_INSTANTIATED, and the cloud then
        refused to mirror it: seen in test_a_decision_the_branch_refuses_is_put_back, when
        b2's first report came after the instantiate.)"""
        cloud = self.cloud
        status, j, _ = cloud.request("POST", "/fed/v1/join", {
            "token": join_token(cloud, "b9"), "site": "b9", "tag": "b9b9b9"}, token=None)
        self.assertEqual(status, 201, j)
        cloud.onboard(sol_vnfd("fed-first"))
        sol = SolClient(cloud)
        iid = sol.create("fed-first")["id"]
        sol.task(iid, "instantiate", {"flavourId": "default", "vimConnectionInfo": [
            {"id": "branch", "vimId": "b9", "vimType": "vnfm.sim"}]})
        dep = cloud.get("/v0/deployments/" + iid)[1]
        self.assertEqual((dep.get("manager"), dep["status"]), (j["manager"], "deploying"))

        self.report(j["credential"], 1, [])  # the first report: full, without it
        dep = cloud.get("/v0/deployments/" + iid)[1]
        self.assertEqual((dep.get("manager"), dep["status"]), (j["manager"], "deploying"), dep)

        made = {"id": iid, "tenant": "default", "vnfd": "fed-first", "status": "active",
                "stage": "monitoring", "operation": None, "instances": {"web": 1},
                "vis": [{"id": "vi-b9", "vdu": "web", "index": 0, "state": "running",
                         "ip": "10.9.9.9"}]}
        self.report(j["credential"], 2, [made])  # the branch made it: mirrored
        dep = cloud.get("/v0/deployments/" + iid)[1]
        self.assertEqual((dep.get("manager"), dep["status"]), (j["manager"], "active"), dep)
        self.assertNotIn("is not mirrored", cloud.log())
        # it leaves the estate: the SOL003 instance on the cloud is not instantiated again
        cloud.ok("DELETE", "/v0/managers/%s?force=true" % j["manager"])
        dep = cloud.get("/v0/deployments/" + iid)[1]
        self.assertEqual((dep.get("manager"), dep["status"]), (None, "not_instantiated"), dep)
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))

    def test_b_a_late_report_does_not_take_a_deployment_back(self):
        """Two managers of one site hand a deployment over and back (turns 1 and 2). The
        report the first taker sent before it gave it back, taken by the cloud after the
        second taker's, names turn 1: the cloud keeps the owner of turn 2. (It gave the
        deployment back to the drained manager, which then stopped: the cloud showed it
        there, `healing` with a handover pending, for good; test_handover, once in the
        loop.)"""
        cloud = self.cloud
        creds = {}
        for tag in ("m1m1m1", "m2m2m2"):
            st, j, _ = cloud.request("POST", "/fed/v1/join", {
                "token": join_token(cloud, "b8"), "site": "b8", "tag": tag}, token=None)
            self.assertEqual(st, 201, j)
            creds[j["manager"]] = j["credential"]
        m1, m2 = creds
        seq = {m1: 0, m2: 0}

        def report(m, handed=None, giving=None):
            dep = {"id": "hx", "tenant": "default", "vnfd": "fed-hx", "status": "active",
                   "stage": "monitoring", "operation": None, "instances": {"web": 1},
                   "vis": [{"id": "vi-hx", "vdu": "web", "index": 0, "state": "running",
                            "ip": "10.8.8.8"}]}
            if handed:
                dep["handed_from"] = {"manager": handed[0], "at": "", "turn": handed[1]}
            if giving:
                dep["handover"] = {"to": giving, "since": ""}
            seq[m] += 1
            self.report(creds[m], seq[m], [dep])
            return cloud.get("/v0/deployments/hx")[1].get("manager")

        self.assertEqual(report(m1), m1)
        self.assertEqual(report(m2, (m1, 1)), m2)  # taken over by m2 (turn 1)
        late = (m1, 1)  # what m2 reports while it gives it back
        self.assertEqual(report(m1, (m2, 2)), m1)  # and back to m1 (turn 2)
        self.assertEqual(report(m2, late, giving=m1), m1)  # m2's late report
        self.assertEqual(report(m2, late), m1)
        self.assertIn("a late report of manager %s (handover turn 1; the cloud knows turn 2, "
                      "at manager %s): not taken" % (m2, m1), cloud.log())
        # a third turn (to m2 again) is taken
        self.assertEqual(report(m2, (m1, 3)), m2)
        for m in creds:  # they leave the estate, and their deployment with them
            cloud.ok("DELETE", "/v0/managers/%s?force=true" % m)
        self.assertEqual(cloud.get("/v0/deployments/hx")[0], 404)


class WanCutTest(unittest.TestCase):
    """A branch manager in a network namespace of its own, reaching the
    cloud over a veth 'WAN' link that the test cuts (ip link set down)."""

    @classmethod
    def setUpClass(cls):
        cls.wan = Wan()
        cls.pki = Pki(ips=(cls.wan.cloud_ip, "127.0.0.1"))
        cls.cloud = cls.pki.cloud(host="0.0.0.0").start()
        tok = join_token(cls.cloud, "bw")
        # the process VIM, its bridge and VIs in the branch's namespace
        cls.b = branch(cls.cloud, "bw", tok,
                       url="https://%s:%d" % (cls.wan.cloud_ip, cls.cloud.port),
                       host=cls.wan.branch_ip, netns=cls.wan.ns).start()

    @classmethod
    def tearDownClass(cls):
        cls.wan.up()
        for d in (cls.b, cls.cloud):
            d.cleanup()
        cls.wan.close()
        cls.pki.close()

    def branch(self, path, method="GET", body=None):
        """The branch's REST API from inside its namespace (the WAN may be down)."""
        cmd = ["curl", "-s", "-X", method, "-H", "Authorization: Bearer " + self.b.token]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        out = subprocess.run(self.wan.inside(*cmd, self.b.url + path), capture_output=True,
                             text=True, timeout=30).stdout
        return json.loads(out)

    def answers(self, vi):
        """What the VNF of vi answers over HTTP, asked from the branch's namespace
        (its site's bridge is there, not on the host)."""
        return self.b.on_host("curl", "-s", "-m", "5", "http://%s:8080/" % vi["ip"],
                              capture_output=True, text=True, timeout=30).stdout

    def conns(self):
        """The branch's established TCP connections to the cloud (ss): their local ADDR:PORT."""
        out = subprocess.run(self.wan.inside(
            "ss", "-tnH", "state", "established", "dst",
            "%s:%d" % (self.wan.cloud_ip, self.cloud.port)),
            capture_output=True, text=True, check=True).stdout
        return {line.split()[2] for line in out.splitlines() if line.strip()}

    def test_reports_keep_their_connection(self):
        """A report a second, all on one connection the branch keeps: no TCP or TLS
        handshake per report. The branch's connections to the cloud are the same two
        (its channel, its reports) before and after four reports."""
        wait_for(lambda: manager_of(self.cloud, "bw")["state"] == "active", 20, 0.1,
                 "bw active")
        n = manager_of(self.cloud, "bw")["reports"]
        before = self.conns()
        wait_for(lambda: manager_of(self.cloud, "bw")["reports"] >= n + 4, 20, 0.1,
                 "four more reports")
        self.assertEqual((len(before), self.conns()), (2, before))

    def test_cut_wan(self):
        cloud, wan = self.cloud, self.wan
        cloud.onboard(demo("fed-wan"))
        op = cloud.ok("POST", "/v0/deployments", {"name": "wv1", "vnfd": "fed-wan",
                                                  "site": "bw"}, expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")
        [vi] = cloud.deployment("wv1")["vis"]
        self.assertIn("hello", self.answers(vi))  # the VNF the cloud shows, at the branch
        wan.down()
        m = wait_for(lambda: (lambda m: m if m["state"] == "unreachable" else None)(
            manager_of(cloud, "bw")), 10, 0.1, "bw unreachable")
        self.assertTrue(m["stale"], m)  # its last known data, shown as such
        status, doc, _ = cloud.request("POST", "/v0/deployments/wv1/scale",
                                       {"vdu": "web", "count": 2})
        self.assertEqual((status, doc["error"], doc["object"]), (503, "site-unreachable", "bw"))
        # the branch goes on alone (its own operations, its events kept)
        op = self.branch("/v0/deployments/wv1/scale", "POST", {"vdu": "web", "count": 2})
        wait_for(lambda: self.branch("/v0/operations/" + op["id"])["state"] == "completed", 30,
                 0.2, "the scale at the branch")
        # and heals a VNF killed meanwhile
        vi = [v for v in self.branch("/v0/deployments/wv1")["vis"] if v["id"] == vi["id"]][0]
        os.kill(vi["pid"], 9)
        def healed():
            d = self.branch("/v0/deployments/wv1")
            return not d["operation"] and [v for v in d["vis"] if v["id"] == vi["id"] and
                                           v["state"] == "running" and v["pid"] != vi["pid"]]
        healed = wait_for(healed, 30, 0.2, "wv1's VI healed")[0]
        self.assertEqual(healed["restarts"], 1)
        self.assertIn("hello", self.answers(healed))
        self.assertEqual(cloud.deployment("wv1")["vis"].__len__(), 1)  # stale, as shown
        self.assertTrue(manager_of(cloud, "bw")["stale"])
        wan.up()
        wait_for(lambda: manager_of(cloud, "bw")["state"] == "active", 15, 0.1, "bw back")
        # both agree again, and what happened meanwhile reached the cloud once
        blogs = self.branch("/v0/logs?deployment=wv1&limit=1000")["logs"]
        wait_for(lambda: len(cloud.get("/v0/logs?deployment=wv1&limit=1000")[1]["logs"]) >=
                 len(blogs), 10, 0.1, "the branch's events on the cloud")
        clogs = [r for r in cloud.get("/v0/logs?deployment=wv1&limit=1000")[1]["logs"]
                 if "branch_seq" in r]
        self.assertEqual(sorted(r["branch_seq"] for r in clogs), [r["seq"] for r in blogs])
        wait_for(lambda: len(cloud.deployment("wv1")["vis"]) == 2, 5, 0.1, "2 VIs on the cloud")
        self.assertEqual(cloud.deployment("wv1")["status"], "active")
        for v in cloud.deployment("wv1")["vis"]:
            self.assertIn("hello", self.answers(v))
        op = cloud.ok("DELETE", "/v0/deployments/wv1", expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"])["state"], "completed")

    def test_decisions_over_a_cut_wan(self):
        """A SOL003 occurrence paused at a branch whose WAN is cut: the cloud
        refuses decisions on it (503, nothing changes on either side); a
        decision accepted just before the cut reaches the branch once the link
        is back, which refuses it when its operation moved meanwhile (failed at
        the branch), and the cloud's occurrence ends as the branch's did."""
        cloud, b, wan = self.cloud, self.b, self.wan
        ok = os.path.join(b.dir, "wan-decide.ok")
        act = script(os.path.join(b.scripts, "wan-decide.sh"),
                     '[ -e %s ] || { echo "waiting for %s"; exit 1; }\n' % (ok, ok))
        v = sol_vnfd("fed-wan-decide")
        v["lifecycle"] = {"post_deployment": [{"script": act}]}
        v["retry"] = {"attempts": 2, "backoff_ms": 20}
        cloud.onboard(v)
        sol = SolClient(cloud)
        vim = [{"id": "branch", "vimId": "bw", "vimType": "vnfm.proc"}]

        def instance():
            iid = sol.create("fed-wan-decide")["id"]
            self.addCleanup(sol.call, "DELETE", "/vnf_instances/" + iid)
            occ_id = sol.task(iid, "instantiate", {"flavourId": "default",
                                                   "vimConnectionInfo": vim})
            self.assertEqual(sol.wait(occ_id)["operationState"], "FAILED_TEMP")
            return iid, occ_id

        def bop(iid, occ_id):
            [o] = [o for o in self.branch("/v0/operations?deployment=" + iid)["operations"]
                   if o.get("client_transaction_id") == occ_id]
            return o

        # cut: 503 naming the site for every decision, nothing changes
        iid, occ_id = instance()
        wan.down()
        try:
            wait_for(lambda: manager_of(cloud, "bw")["state"] == "unreachable", 15, 0.1,
                     "bw unreachable")
            for what, body in (("retry", None), ("rollback", None), ("fail", None)):
                status, doc, _ = sol.call("POST", "/vnf_lcm_op_occs/%s/%s" % (occ_id, what), body)
                self.assertEqual(status, 503, doc)
                self.assertIn("branch site bw is unreachable since", doc["detail"])
            self.assertEqual(sol.occ(occ_id)["operationState"], "FAILED_TEMP")
            self.assertEqual(bop(iid, occ_id)["state"], "failed_temp")
        finally:
            wan.up()
        wait_for(lambda: manager_of(cloud, "bw")["state"] == "active", 15, 0.1, "bw back")
        open(ok, "w").close()
        sol.ok("POST", "/vnf_lcm_op_occs/%s/retry" % occ_id, expect=(202,))
        self.assertEqual(sol.wait(occ_id)["operationState"], "COMPLETED")
        [vnfc] = self.branch("/v0/deployments/" + iid)["vis"]
        self.assertIn("hello", self.answers(vnfc))
        os.remove(ok)

        # a retry accepted as the link goes down (the cloud still counts the branch
        # reachable) waits for it; meanwhile the branch's operator fails the operation
        iid2, occ2 = instance()
        wan.down()
        try:
            status, doc, _ = sol.call("POST", "/vnf_lcm_op_occs/%s/retry" % occ2)
            self.assertEqual(status, 202, doc)
            self.assertEqual(sol.occ(occ2)["operationState"], "PROCESSING")
            self.branch("/v0/operations/%s/fail" % bop(iid2, occ2)["id"], "POST", {})
            self.assertEqual(bop(iid2, occ2)["state"], "failed")
        finally:
            wan.up()
        # the branch refuses the retry it gets late; the cloud ends as the branch did
        occ = sol.wait(occ2, ("FAILED",), 30)
        self.assertEqual(occ["operationState"], "FAILED")
        wait_for(lambda: [r for r in cloud.get("/v0/logs?operation=%s&limit=100" % occ2)[1]["logs"]
                          if "refused the retry" in r["message"]], 10, 0.1,
                 "the branch's refusal on the cloud")
        self.assertEqual(bop(iid2, occ2)["state"], "failed")
        for i in (iid, iid2):
            sol.run(i, "terminate", {"terminationType": "FORCEFUL"})


class InsecureTest(unittest.TestCase):
    """Plain HTTP to a cloud, for debugging: only with --fed-insecure
    (docs/FEDERATION.md "Transport and security")."""

    def test_plain_http_only_when_asked(self):
        """... and a branch reports at the interval its cloud asks for (200 ms here)."""
        cloud = Daemon("--site-driver", "sim", "--fed-report-interval-ms", "200", role="cloud",
                       site="cloud").start()
        b = None
        try:
            tok = join_token(cloud, "bi")
            plain = ("--cloud-url", cloud.url, "--join-token", tok, "--site-driver", "sim")
            err = run_refused(Daemon(*plain, role="local", site="bi"))
            self.assertIn("--cloud-url must be https:// (plain http:// only with "
                          "--fed-insecure)", err)
            # a branch manager's store is SQLite in its data dir (docs/HA.md); the token
            # stays unused
            err = run_refused(Daemon(*plain, "--fed-insecure", "--store",
                                     "etcd://127.0.0.1:1/x", role="local", site="bi"))
            self.assertIn("a branch manager (--cloud-url) keeps its store in its data dir", err)
            b = Daemon(*plain, "--fed-insecure", role="local", site="bi").start()
            m = wait_for(lambda: (lambda m: m if m and m["state"] == "active" else None)(
                manager_of(cloud, "bi")), 10, 0.1, "bi active")
            self.assertEqual(m["tag"], b.tag)
            n0, t0 = manager_of(cloud, "bi")["reports"], time.monotonic()
            time.sleep(3)
            n = manager_of(cloud, "bi")["reports"] - n0
            # 15 at 200 ms; at its own default (1 s) the branch would have sent 3 or 4
            self.assertGreaterEqual(n, 8, "%d reports in %.1f s" % (n, time.monotonic() - t0))
            self.assertIn("reporting every 200 ms, as the cloud asks", b.log())
        finally:
            for d in (b, cloud):
                if d:
                    d.cleanup()


if __name__ == "__main__":
    unittest.main()
