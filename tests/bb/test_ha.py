"""Primary/standby managers on etcd (docs/HA.md): a 3-member etcd on loopback, two managers
that share it, their data dir and the host's VNFs. Kill -9 of the primary while a client keeps
writing: a standby takes over and nothing acknowledged is lost; its VNFs are adopted, not
deployed again. Standbys send writes to the primary; health says who is who. etcd members
killed, etcd lost and back, etcd out of reach at start, a primary cut off from etcd."""
import datetime
import http.client
import json
import os
import random
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from test_deploy import demo
from vnfm import VNFMCTL, Daemon, Etcd, free_port, http_get, unique_subnet, wait_for

TOKEN = "ha-test-admin-token-0123456789"


class Client:
    """A client that follows the documented rule (docs/HA.md): it knows every manager's URL,
    talks to the last one that answered, follows a 307 to the primary, and on no answer or a
    503 tries the next one."""

    def __init__(self, urls):
        self.urls = list(urls)
        self.cur = 0

    def request(self, method, path, body=None, deadline=30.0, headers=None):
        end = time.time() + deadline
        while time.time() < end:
            url = self.urls[self.cur] + path
            for _ in range(3):  # a redirect or two
                try:
                    status, doc, headers_back = call(method, url, body, headers=headers)
                except OSError:
                    break
                if status == 307:
                    url = headers_back["Location"]
                    continue
                if status == 503:
                    break
                self.cur = next((i for i, u in enumerate(self.urls) if url.startswith(u)),
                                self.cur)
                return status, doc
            self.cur = (self.cur + 1) % len(self.urls)
            time.sleep(0.02)
        raise AssertionError("no manager took %s %s within %.0fs" % (method, path, deadline))


def call(method, url, body=None, timeout=5.0, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if data is not None:
        req.add_header("Content-Type", "application/json")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **kw):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else None), dict(r.headers)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, (json.loads(text) if text else None), dict(e.headers)


class Writer(threading.Thread):
    """Creates tenants w0, w1, ... (or what doc makes of each id, at path) one after the
    other through a Client; remembers those acknowledged (201) and when each was."""

    def __init__(self, urls, path="/v0/tenants", doc=lambda tid: {"id": tid}):
        super().__init__(daemon=True)
        self.path, self.doc = path, doc
        self.client = Client(urls)
        self.acked = []  # (id, time, url index)
        self.stop = threading.Event()
        self.error = None

    def run(self):
        i = 0
        try:
            while not self.stop.is_set():
                tid = "w%d" % i
                status, doc = self.client.request("POST", self.path, self.doc(tid))
                if status == 201:
                    self.acked.append((tid, time.time(), self.client.cur))
                elif status != 409:  # 409: it did go through, before an answer was lost
                    raise AssertionError("POST %s %s -> %s %s" % (self.path, tid, status, doc))
                i += 1
        except Exception as e:  # reported by the test
            self.error = e


class Proxy:
    """A TCP relay to etcd that can be cut like a network: cut, nothing passes any more
    and new connections hang; the managers behind it see etcd go silent."""

    def __init__(self, target_port):
        self.target = target_port
        self.cut = threading.Event()
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(64)
        self.socks = []  # every connection, closed with the proxy
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.socks.append(c)
            if self.cut.is_set():
                continue  # accepted by the kernel, never answered
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                continue
            self.socks.append(u)
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    def pipe(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                if not self.cut.is_set():
                    b.sendall(data)
        except OSError:
            pass
        if not self.cut.is_set():
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.srv.close()
        for s in self.socks:
            s.close()


class HATest(unittest.TestCase):
    """Two managers, a and b, on one 3-member etcd: a starts first and is the primary."""

    @classmethod
    def setUpClass(cls):
        cls.etcd = Etcd(3)
        cls.data = tempfile.mkdtemp(prefix="vnfm-bb-ha-")

    @classmethod
    def tearDownClass(cls):
        cls.etcd.stop()
        subprocess.run(["rm", "-rf", cls.data, cls.data + "-package-scripts"])

    def setUp(self):
        self.store = "etcd://%s/ha%d" % (self.etcd.endpoints, random.randint(0, 1 << 30))
        subnet = unique_subnet()
        self.a = self.manager(subnet).start()
        self.b = self.manager(subnet).start(primary=False)
        self.managers = [self.a, self.b]

    def manager(self, subnet, store=None, extra=()):
        # a 6 s lease: the primary steps down after 3/4 of it without a renewal,
        # and with the default 3 s an etcd election after a member is killed
        # took longer than that under a loaded CI run (docs/HA.md, "Timers")
        return Daemon("--ha-lease-ms", "6000", *extra, subnet=subnet, store=store or self.store,
                      data=self.data, token=TOKEN)

    def tearDown(self):
        for m in self.managers:  # the primary undeploys, every one stops cleanly
            if m.proc and m.proc.poll() is None and m.ha_state() == "primary":
                m.undeploy_all()
        for m in self.managers:
            m.stop() if m.proc and m.proc.poll() is None else None
            m.check_sanitizers()
        for m in self.managers:
            if m.tag:
                m.purge_host()
            m.forget()

    def health(self, m):
        return m.request("GET", "/v0/health", token=None)[1]

    # ---- cases ----

    def test_health_says_who_is_primary(self):
        ha = self.health(self.a)["ha"]
        self.assertEqual(ha["state"], "primary")
        self.assertEqual(ha["primary"], self.a.url)
        self.assertEqual(ha["store"], "reachable")
        wait_for(lambda: self.health(self.b)["ha"]["primary"] == self.a.url, 10,
                 what="b knows the primary")
        ha = self.health(self.b)
        self.assertEqual(ha["code"], 2000, ha)
        self.assertEqual(ha["ha"]["state"], "standby")
        self.assertEqual(ha["ha"]["primary"], self.a.url)
        self.assertEqual(ha["ha"]["self"], self.b.url)

    def test_standby_reads_and_sends_writes_to_the_primary(self):
        self.a.ok("POST", "/v0/tenants", {"id": "acme"}, expect=(201,))
        wait_for(lambda: self.b.get("/v0/tenants/acme")[0] == 200, 10, what="b's copy")
        # b's copy of the store and its view of who leads follow two watches:
        # the copy can be there first (until then b answers 503, electing)
        wait_for(lambda: self.health(self.b)["ha"]["primary"] == self.a.url, 10,
                 what="b knows the primary")
        status, doc, headers = call("POST", self.b.url + "/v0/tenants", {"id": "other"})
        self.assertEqual(status, 307, doc)
        self.assertEqual(headers["Location"], self.a.url + "/v0/tenants")
        self.assertEqual(doc["primary"], self.a.url)
        self.assertEqual(doc["error"], "not-primary")
        conn = http.client.HTTPConnection(urllib.parse.urlsplit(self.b.url).netloc, timeout=5)
        conn.request("POST", "/v0/tenants", json.dumps({"id": "other"}),
                     {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
        self.assertEqual(conn.getresponse().reason, "Temporary Redirect")
        conn.close()
        status, doc = Client([self.b.url, self.a.url]).request("POST", "/v0/tenants",
                                                               {"id": "other"})
        self.assertEqual(status, 201, doc)

    def test_standby_sends_sol003_writes_to_the_primary(self):
        """An NFVO's SOL003 requests to a standby: reads answered there, writes sent to the
        primary with the same 307; a client that follows it (and vnfmctl's SOL003 tasks
        with VNFM_URL=STANDBY,PRIMARY) gets them done."""
        self.a.onboard(demo("ha-sol"))
        wait_for(lambda: self.health(self.b)["ha"]["primary"] == self.a.url, 10,
                 what="b knows the primary")
        sol = {"Version": "1.3.0"}
        status, doc, headers = call("POST", self.b.url + "/vnflcm/v1/vnf_instances",
                                    {"vnfdId": "ha-sol"}, headers=sol)
        self.assertEqual(status, 307, doc)
        self.assertEqual(headers["Location"], self.a.url + "/vnflcm/v1/vnf_instances")
        self.assertEqual(doc["primary"], self.a.url)
        status, inst = Client([self.b.url, self.a.url]).request(
            "POST", "/vnflcm/v1/vnf_instances", {"vnfdId": "ha-sol"}, headers=sol)
        self.assertEqual(status, 201, inst)
        wait_for(lambda: call("GET", self.b.url + "/vnflcm/v1/vnf_instances/" + inst["id"],
                              headers=sol)[0] == 200, 10, what="the instance read on b")
        env = dict(os.environ, VNFM_URL="%s,%s" % (self.b.url, self.a.url), VNFM_TOKEN=TOKEN)
        r = subprocess.run([VNFMCTL, "modify", inst["id"], "--description", "via the standby"],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        status, doc, _ = call("GET", self.a.url + "/vnflcm/v1/vnf_instances/" + inst["id"],
                              headers=sol)
        self.assertEqual(doc.get("vnfInstanceDescription"), "via the standby", doc)

    def test_kill_primary_during_writes_loses_nothing(self):
        """The standby takes over; every write acknowledged before, during and after is
        there; the VNF the primary deployed keeps running and is adopted, not deployed
        again; the killed one comes back as a standby."""
        self.a.onboard("demo-web")
        self.a.deploy("web", "demo-web")
        vi = self.a.deployment("web")["vis"][0]
        w = Writer([self.a.url, self.b.url])
        w.start()
        wait_for(lambda: len(w.acked) >= 20, 30, what="writes acknowledged by a")
        killed = time.time()
        self.a.kill9()
        wait_for(lambda: any(t > killed and u == 1 for _, t, u in w.acked), 30,
                 what="a write acknowledged by b")
        first = min(t for _, t, u in w.acked if t > killed and u == 1)
        n = len(w.acked)
        wait_for(lambda: len(w.acked) >= n + 20, 30, what="more writes on b")
        w.stop.set()
        w.join(30)
        self.assertIsNone(w.error)
        print("failover: kill -9 of the primary to the first write b acknowledged: %.3f s"
              % (first - killed))
        self.assertEqual(self.b.ha_state(), "primary")
        have = {t["id"] for t in self.b.get("/v0/tenants")[1]["tenants"]}
        lost = [tid for tid, _, _ in w.acked if tid not in have]
        self.assertEqual(lost, [], "acknowledged writes lost")
        # the VNF: same process, adopted
        after = self.b.deployment("web")["vis"][0]
        self.assertEqual(after["state"], "running", after)
        self.assertEqual(after["pid"], vi["pid"])
        self.assertIn("adopt", self.b.log())
        # a again: a standby of b
        self.a.start(primary=False)
        wait_for(lambda: self.health(self.a)["ha"]["primary"] == self.b.url, 10,
                 what="a sees b as the primary")
        self.assertEqual(self.a.ha_state(), "standby")

    def test_takeover_resumes_an_operation_in_flight(self):
        """A deploy whose VNF is still starting when the primary dies: the new primary
        resumes it from the journal (same VI, same process), never deploys it again."""
        v = demo("demo-slow")
        v["vdus"][0]["command"] = ["sh", "-c", "sleep 2; exec vnf-demo --listen {{ip}}:8080"]
        self.a.onboard(v)
        op = self.a.ok("POST", "/v0/deployments", {"name": "slow", "vnfd": "demo-slow"},
                       expect=(202,))
        wait_for(lambda: any(l.get("stage") == "post_deployment" and l["result"] == "started"
                             for l in self.a.get("/v0/logs?operation=%s&event=stage"
                                                 % op["id"])[1]["logs"]),
                 20, 0.01, "post_deployment started")
        vi = self.a.deployment("slow")["vis"][0]
        self.a.kill9()
        wait_for(lambda: self.b.ha_state() == "primary", 10, what="b takes over")
        done = self.b.wait_op(op["id"])
        self.assertEqual(done["state"], "completed", done)
        logs = self.b.get("/v0/logs?operation=%s&event=operation" % op["id"])[1]["logs"]
        self.assertTrue(any(l["result"] == "resumed" for l in logs), logs)
        after = self.b.deployment("slow")["vis"]
        self.assertEqual([x["id"] for x in after], [vi["id"]])
        self.assertEqual(after[0]["pid"], vi["pid"])
        self.assertEqual(http_get("http://%s:8080/" % after[0]["ip"])[0], 200)

    def primary_and_standby(self):
        """(primary, standby): a and b, unless a loaded run moved the primary to b; once
        the primary knows the standby (its view of etcd brought its member key: a primary
        that never saw it has no peer to miss)."""
        primary, standby = wait_for(lambda: next(
            ((p, s) for p, s in ((self.a, self.b), (self.b, self.a))
             if p.ha_state() == "primary" and s.ha_state() == "standby"), None), 30,
            what="a primary and a standby")
        wait_for(lambda: self.health(primary)["ha"]["members"] == 2, 30,
                 what="the primary's view holding both members")
        return primary, standby

    def test_standby_gone_is_health_2010_until_its_lease_ends(self):
        wait_for(lambda: self.health(self.a)["code"] == 2000, 10, what="a healthy")
        primary, standby = self.primary_and_standby()
        standby.kill9()
        seen = []

        def code():
            doc = self.health(primary)
            seen.append((doc["code"], doc["ha"]["state"], doc["ha"]["peer"],
                         doc["ha"]["members"]))
            return doc["code"]
        try:
            wait_for(lambda: code() == 2010, 10, what="2010 on the primary")
        except AssertionError as e:
            raise AssertionError("%s; its last answers: %s" % (e, seen[-5:])) from None
        self.assertIn("standby", self.health(primary)["ha"]["peer"])
        # etcd lets its lease go: it is no member any more
        wait_for(lambda: self.health(primary)["code"] == 2000, 20,
                 what="2000 once the standby's lease ended")

    def test_standby_and_a_vim_gone_is_health_2100(self):
        """2100: the HA peer and a site's VIM both unreachable, from real causes: the
        primary's site bridge deleted (its VIM check says so: 2020), then the standby
        killed (2100 until its lease ends, then 2020 again)."""
        primary, standby = self.primary_and_standby()
        primary.on_host("ip", "link", "delete", "vb%s0" % primary.tag, check=True)
        wait_for(lambda: self.health(primary)["code"] == 2020, 20,
                 what="2020 once the site's VIM check finds its bridge gone")
        [vim] = self.health(primary)["vims"]
        self.assertEqual(vim["health"], "unreachable", vim)
        self.assertIn("is missing", vim.get("message", ""), vim)
        standby.kill9()
        wait_for(lambda: self.health(primary)["code"] == 2100, 10, what="2100 on the primary")
        wait_for(lambda: self.health(primary)["code"] == 2020, 20,
                 what="2020 once the standby's lease ended")

    def test_vnfmctl_follows_the_primary(self):
        env = dict(os.environ, VNFM_URL="%s,%s" % (self.b.url, self.a.url), VNFM_TOKEN=TOKEN)
        r = subprocess.run([VNFMCTL, "tenant", "create", "viactl"], capture_output=True,
                           text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.a.get("/v0/tenants/viactl")[0], 200)
        self.a.kill9()
        # the first URL is now the primary's; the second does not answer
        env["VNFM_URL"] = "%s,%s" % (self.a.url, self.b.url)
        r = subprocess.run([VNFMCTL, "tenant", "create", "afterwards"], capture_output=True,
                           text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.b.get("/v0/tenants/afterwards")[0], 200)

    def test_clean_stop_hands_over_at_once(self):
        """a revokes its lease as it stops: b is elected at once, not a lease TTL (6 s)
        later. Its takeover then opens the sites, which takes seconds on a loaded machine."""
        stopped = time.time()
        self.a.stop()
        wait_for(lambda: "ha: elected primary" in self.b.log(), 5, what="b elected")
        line = [l for l in self.b.log().splitlines() if "ha: elected primary" in l][-1]
        elected = datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
        self.assertLess(elected.timestamp() - stopped, 3, line)
        wait_for(lambda: self.b.ha_state() == "primary", 30, what="b takes over")
        self.b.ok("POST", "/v0/tenants", {"id": "after"}, expect=(201,))

    def test_etcd_member_killed_no_interruption(self):
        w = Writer([self.a.url, self.b.url])
        w.start()
        wait_for(lambda: len(w.acked) >= 10, 30, what="writes")
        self.etcd.kill(0)  # the member both managers talk to first
        try:
            n = len(w.acked)
            wait_for(lambda: len(w.acked) >= n + 30, 30, what="writes with a member down")
            w.stop.set()
            w.join(30)
            self.assertIsNone(w.error)
            self.assertEqual(self.a.ha_state(), "primary", self.a.log()[-3000:])
            self.assertTrue(all(u == 0 for _, _, u in w.acked), "a write went elsewhere")
        finally:
            self.etcd.run(0)
        wait_for(self.etcd.answers, 20, what="etcd member back")


class HAFaultTest(unittest.TestCase):
    """etcd out of reach: at start, while running, and for the primary alone."""

    def setUp(self):
        self.etcd = Etcd(1)
        self.data = tempfile.mkdtemp(prefix="vnfm-bb-ha-")
        self.managers = []

    def tearDown(self):
        for m in self.managers:
            if m.proc and m.proc.poll() is None and m.ha_state() == "primary":
                m.undeploy_all()
        for m in self.managers:
            if not m.proc:
                continue
            m.stop() if m.proc.poll() is None else None
            m.check_sanitizers()
            if m.tag:
                m.purge_host()
            m.forget()
        self.etcd.stop()
        subprocess.run(["rm", "-rf", self.data, self.data + "-package-scripts"])

    def manager(self, store, subnet=None, extra=()):
        m = Daemon(*extra, subnet=subnet, store=store, data=self.data, token=TOKEN)
        self.managers.append(m)
        return m

    def test_unreachable_at_start(self):
        m = self.manager("etcd://127.0.0.1:%d/x" % free_port())
        r = subprocess.run(m.args(), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 69, r.stderr)
        self.assertIn("cannot open the store etcd://127.0.0.1", r.stderr)

    def test_etcd_lost_and_back(self):
        m = self.manager("etcd://%s/lost" % self.etcd.endpoints).start()
        m.ok("POST", "/v0/tenants", {"id": "before"}, expect=(201,))
        self.etcd.kill(0)
        wait_for(lambda: self.health_code(m) == 5010, 10, what="5010 without etcd")
        # it steps down (its lease is not renewed) and starts again as a standby
        # that waits for its store: 5010 all along, and writes refused with a 503
        wait_for(lambda: "waiting for it" in m.log(), 20, what="the manager waiting for etcd")
        status, doc = m.request("GET", "/v0/health", token=None)[:2]
        self.assertEqual((status, doc["code"]), (503, 5010), doc)
        self.assertIn("unreachable", doc["ha"]["store"])
        status, doc, _ = m.request("POST", "/v0/tenants", {"id": "lost"})
        self.assertEqual((status, doc["error"]), (503, "store-unreachable"), doc)
        self.etcd.run(0)
        wait_for(lambda: m.ha_state() == "primary" and self.health_code(m) == 2000, 60,
                 what="primary again once etcd is back")
        m.ok("POST", "/v0/tenants", {"id": "after"}, expect=(201,))
        have = {t["id"] for t in m.get("/v0/tenants")[1]["tenants"]}
        self.assertIn("before", have)
        self.assertNotIn("lost", have)

    def test_stopped_while_waiting_for_etcd(self):
        m = self.manager("etcd://%s/wait" % self.etcd.endpoints).start()
        self.etcd.kill(0)
        wait_for(lambda: "waiting for it" in m.log(), 20, what="the manager waiting for etcd")
        self.assertEqual(m.ha_state(), "starting")
        m.stop()  # SIGTERM: exit status 0, no sanitizer report (tearDown)
        self.assertIn("stopped while waiting for the store", m.log())

    def health_code(self, m):
        try:
            return m.request("GET", "/v0/health", token=None)[1]["code"]
        except OSError:
            return None

    def test_primary_cut_off_steps_down_within_its_ttl(self):
        proxy = Proxy(int(self.etcd.endpoints.split(":")[1]))
        self.addCleanup(proxy.close)
        subnet = unique_subnet()
        a = self.manager("etcd://127.0.0.1:%d/cut" % proxy.port, subnet,
                         ("--ha-lease-ms", "2000")).start()
        b = self.manager("etcd://%s/cut" % self.etcd.endpoints, subnet).start(primary=False)
        a.ok("POST", "/v0/tenants", {"id": "before"}, expect=(201,))
        cut = time.time()
        proxy.cut.set()
        # a steps down before its lease of 2 s can run out; b takes over when etcd lets the
        # lease go (b still hears a's heartbeats: a is alive)
        wait_for(lambda: "stepping down as the primary" in a.log(), 10, what="a steps down")
        stepped = time.time() - cut
        wait_for(lambda: b.ha_state() == "primary", 20, what="b takes over")
        self.assertLess(stepped, 2.5, "a stepped down %.1f s after the cut" % stepped)
        b.ok("POST", "/v0/tenants", {"id": "after"}, expect=(201,))
        proxy.cut.clear()
        wait_for(lambda: a.ha_state() == "standby", 30, what="a rejoins as a standby")
        # in the same process, under its own name (ps showed "exe" before)
        self.assertIn("stopping, to start again as a standby", a.log())
        self.assertIsNone(a.proc.poll())
        with open("/proc/%d/comm" % a.proc.pid) as f:
            self.assertEqual(f.read().strip(), "vnfmd")


if __name__ == "__main__":
    unittest.main()
