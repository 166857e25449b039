"""Callbacks, SOL003 subscriptions and webhooks as a tenant could abuse them
(issue 10 finding 2): testing a subscriber's endpoint never holds a REST
thread and tells a caller nothing about the ports it tried; a tenant's
destinations are public addresses only unless the admin allows more with
vnfmd --tenant-destinations, refused at registration with the field named
and, for names that resolve to a denied address, at each delivery."""
import http.server
import json
import os
import socket
import threading
import time
import unittest

from vnfm import Daemon, DaemonTest, VNFDS, wait_for

SOL = "/vnflcm/v1"
SOL_HDRS = {"Version": "1.3.0"}
GENERIC = "callbackUri: the notification endpoint did not answer 204 to a test GET"


class Hook:
    """A real HTTP listener: answers GET with 204 and records POSTed JSON."""

    def __init__(self):
        got, gets = self.got, self.gets = [], []

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                gets.append(self.path)
                self.send_response(204)
                self.end_headers()

            def do_POST(self):
                got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, host="127.0.0.1", path="/hook"):
        return "http://%s:%d%s" % (host, self.port, path)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Mute:
    """Accepts connections and never answers until released."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.release = threading.Event()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.release.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.release.set()
        for c in self.conns:
            c.close()
        self.sock.close()


def demo_vnfd(vnfd_id, **patch):
    with open(os.path.join(VNFDS, "demo-web.json")) as f:
        doc = json.load(f)
    doc.update(id=vnfd_id, **patch)
    return doc


def notify_rule(url):
    return [{"name": "tell", "metric": "process.up", "op": "==", "threshold": 0,
             "actions": [{"action": "notify", "url": url}]}]


class CallbackTest(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d.ok("POST", "/v0/tenants", {"id": "cb-t"})
        cls.tok = cls.d.ok("POST", "/v0/tenants/cb-t/tokens", {})["token"]

    def subscribe(self, url, token="admin"):
        return self.d.request("POST", SOL + "/subscriptions", {"callbackUri": url},
                              token=token, headers=SOL_HDRS)

    def test_slow_endpoints_do_not_hold_the_api(self):
        mute = Mute()
        self.addCleanup(mute.close)
        answers = []

        def sub(i):
            answers.append(self.subscribe("http://127.0.0.1:%d/slow%d" % (mute.port, i)))

        threads = [threading.Thread(target=sub, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        wait_for(lambda: len(mute.conns) == 4, 10, what="four endpoint tests in flight")
        # while all four wait for their endpoint (2 s), health answers: the
        # tests hold no REST thread (they once held them 5 s each: 9.7 s)
        self.assertEqual(self.d.get("/v0/health", token=None)[0], 200)
        self.assertEqual(answers, [], "a test of an endpoint ended before health answered")
        self.d.ok("POST", "/v0/tenants", {"id": "cb-meanwhile"})
        for t in threads:
            t.join(30)
        self.assertEqual(len(answers), 4)
        for status, doc, _ in answers:
            self.assertEqual(status, 422, doc)
            self.assertEqual(doc["detail"], GENERIC)

    def test_failures_say_nothing_of_the_port(self):
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()  # nothing listens: connection refused
        mute = Mute()  # listens, never answers: a timeout
        self.addCleanup(mute.close)
        for url in ("http://127.0.0.1:%d/x" % port, "http://127.0.0.1:%d/x" % mute.port,
                    "http://no-such-host.invalid/x"):
            status, doc, _ = self.subscribe(url)
            self.assertEqual(status, 422, doc)
            self.assertEqual(doc["detail"], GENERIC, url)
        # the reason is the admin's, in the manager's log
        self.assertIn("the test GET of callbackUri", self.d.log())

    def test_a_tenant_may_not_reach_local_addresses(self):
        hook = Hook()
        self.addCleanup(hook.close)
        denied = ("127.0.0.1", "localhost", "[::1]", "2130706433", "10.1.2.3", "169.254.169.254",
                  "192.168.0.1", "172.16.0.1")
        for host in denied:
            status, doc, _ = self.subscribe(hook.url(host), token=self.tok)
            self.assertEqual(status, 422, (host, doc))
            self.assertIn("--tenant-destinations", doc["detail"])
        # a name that resolves to loopback is refused on the address it resolves to
        status, doc, _ = self.subscribe(hook.url(socket.gethostname()), token=self.tok)
        if socket.gethostbyname(socket.gethostname()).startswith("127."):
            self.assertEqual(status, 422, doc)
            self.assertIn("--tenant-destinations", doc["detail"])
        self.assertEqual(hook.gets, [], "a denied endpoint was tested")
        self.assertEqual(self.d.get(SOL + "/subscriptions", token=self.tok,
                                    headers=SOL_HDRS)[1], [])
        # a Callback header, and webhooks of a tenant's VNFD and rules
        self.assertError(self.d.post("/v0/vnfds", demo_vnfd("cb-v1"), token=self.tok,
                                     headers={"Callback": hook.url()}), 400, field="Callback")
        self.assertError(self.d.get("/v0/vnfds/cb-v1", token=self.tok), 404)
        self.assertError(self.d.post("/v0/vnfds", demo_vnfd("cb-v2", rules=notify_rule(
            "http://169.254.169.254/latest")), token=self.tok), 400,
            field="rules[0].actions[0].url")
        self.d.onboard(demo_vnfd("cb-v3"), token=self.tok)
        self.d.deploy("cb-d", "cb-v3", token=self.tok)
        self.assertError(self.d.request("PUT", "/v0/deployments/cb-d/rules",
                                        {"rules": notify_rule(hook.url("10.0.0.1"))},
                                        token=self.tok), 400, field="rules[0].actions[0].url")
        # the admin may: a subscription to loopback, rules with a local webhook
        status, doc, _ = self.subscribe(hook.url())
        self.assertEqual(status, 201, doc)
        self.d.request("DELETE", SOL + "/subscriptions/" + doc["id"], headers=SOL_HDRS)
        self.d.ok("PUT", "/v0/deployments/cb-d/rules", {"rules": notify_rule(hook.url())})
        self.d.ok("DELETE", "/v0/deployments/cb-d", token=self.tok)

    def test_a_public_destination_passes_registration(self):
        # a tenant's public destination is tested like any other (nothing
        # answers here: the generic 422, not the policy's)
        status, doc, _ = self.subscribe("http://192.0.2.1:9/x", token=self.tok)
        self.assertEqual(status, 422, doc)
        self.assertEqual(doc["detail"], GENERIC)


class AllowedTest(unittest.TestCase):
    def test_the_admin_opts_in(self):
        hook = Hook()
        self.addCleanup(hook.close)
        d = Daemon("--tenant-destinations", "loopback").start()
        self.addCleanup(d.cleanup)
        d.ok("POST", "/v0/tenants", {"id": "cb-in"})
        tok = d.ok("POST", "/v0/tenants/cb-in/tokens", {})["token"]
        status, doc, _ = d.request("POST", SOL + "/subscriptions", {"callbackUri": hook.url()},
                                   token=tok, headers=SOL_HDRS)
        self.assertEqual(status, 201, doc)
        # its Callback is delivered, and private addresses stay denied
        d.ok("POST", "/v0/vnfds", demo_vnfd("cb-in-v"), token=tok,
             headers={"Callback": hook.url(path="/cb")})
        wait_for(lambda: any(g.get("id") == "cb-in-v" for g in hook.got), 15, what="callback")
        status, doc, _ = d.request("POST", SOL + "/subscriptions",
                                   {"callbackUri": hook.url("10.1.2.3")}, token=tok,
                                   headers=SOL_HDRS)
        self.assertEqual(status, 422, doc)
        self.assertIn("--tenant-destinations", doc["detail"])
        d.ok("DELETE", "/v0/vnfds/cb-in-v", token=tok)

    def test_a_bad_list_is_refused(self):
        d = Daemon("--tenant-destinations", "loopback,everything")
        with self.assertRaises(AssertionError) as e:
            d.start()
        self.assertIn("--tenant-destinations", str(e.exception))


if __name__ == "__main__":
    unittest.main()
