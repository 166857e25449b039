"""The outbox (issue 10, finding 16): subscribers that stop answering do not
make the manager work harder with every lifecycle operation, what waits for
them stays bounded (and what is dropped is recorded), notifications keep
their order, and a kill -9 with notifications pending delivers each once,
in order, after the restart. Real SOL003 subscribers (HTTP listeners), a
real daemon, real VNFs."""
import http.server
import json
import threading
import time
import unittest
import urllib.request

from vnfm import Daemon, free_port, wait_for
from test_sol003 import SolClient, sol_vnfd

KEY_MAX = 20  # --outbox-key-max of the bounded daemon
SUBSCRIBERS = 10
CYCLES = 12


class Endpoint:
    """A notification endpoint: GET answers 204 (the SOL013 test of a new
    subscription); a POST gets post_status while that is set, else 204 and
    is recorded. Counts the POSTs per path."""

    def __init__(self, post_status=None):
        self.post_status, self.got, self.posts = post_status, [], {}
        me = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(204)
                self.end_headers()

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                me.posts[self.path] = me.posts.get(self.path, 0) + 1
                status = me.post_status
                if not status:
                    me.got.append(body)
                self.send_response(status or 204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, path="/notify"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def metrics(d):
    """/metrics as {name{labels}: value}."""
    req = urllib.request.Request(d.url + "/metrics",
                                 headers={"Authorization": "Bearer " + d.token})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def sol003(m, name):
    return m['vnfm_outbox_%s{channel="sol003"}' % name]


def attempts_bound(seconds):
    """The most POSTs one destination can get in `seconds` with the
    outbox's backoff (0.5 s doubling with each failure in a row, at most
    60 s), plus one for an attempt in flight at either end."""
    n, t, delay = 1, 0.0, 0.5
    while t + delay <= seconds:
        t += delay
        n += 1
        delay = min(delay * 2, 60.0)
    return n + 1


def cycle(sol):
    """create, instantiate, terminate, delete: 8 notifications a subscriber."""
    iid = sol.create()["id"]
    sol.run(iid, "instantiate", {"flavourId": "default"})
    sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})
    sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))


class DeadSubscribersTest(unittest.TestCase):
    """Ten subscriptions whose endpoint answers every notification 404."""

    def setUp(self):
        self.d = Daemon("--outbox-key-max", str(KEY_MAX)).start()
        self.addCleanup(self.d.cleanup)
        self.sol = SolClient(self.d)
        self.d.onboard(sol_vnfd())
        self.dead = Endpoint(post_status=404)
        self.addCleanup(self.dead.close)

    def test_dead_subscribers_cost_bounded_work_and_space(self):
        for i in range(SUBSCRIBERS):
            self.sol.ok("POST", "/subscriptions", {"callbackUri": self.dead.url("/dead/%d" % i)},
                        expect=(201,))
        before, started = metrics(self.d), time.time()
        for _ in range(CYCLES):
            cycle(self.sol)
            # what waits for them never exceeds the bound
            self.assertLessEqual(sol003(metrics(self.d), "pending"), SUBSCRIBERS * KEY_MAX)
        after, took = metrics(self.d), time.time() - started
        queued = CYCLES * 8 * SUBSCRIBERS
        attempts = sol003(after, "attempts_total") - sol003(before, "attempts_total")
        dropped = sol003(after, "dropped_total") - sol003(before, "dropped_total")
        reads = after["vnfm_outbox_reads_total"] - before["vnfm_outbox_reads_total"]
        # the work per notification is constant: no list of the whole outbox
        # per delivery (before the fix: every attempt read every entry)
        self.assertLessEqual(reads, 4 * (queued + attempts), (reads, queued, attempts))
        # each dead endpoint is tried at the pace of its backoff, not once
        # per notification
        for i in range(SUBSCRIBERS):
            self.assertLessEqual(self.dead.posts.get("/dead/%d" % i, 0), attempts_bound(took),
                                 self.dead.posts)
        self.assertLessEqual(attempts, SUBSCRIBERS * attempts_bound(took))
        # what could not be kept was dropped, counted and logged
        self.assertGreaterEqual(sol003(after, "pending"), SUBSCRIBERS * (KEY_MAX - 1))
        self.assertGreaterEqual(dropped, queued - SUBSCRIBERS * KEY_MAX - attempts)
        logs = self.d.get("/v0/logs?event=outbox")[1]["logs"]
        self.assertTrue(logs)
        self.assertTrue(all(l["result"] == "dropped" and l["level"] == "warn" for l in logs))
        self.assertEqual(len({l["object"] for l in logs}), SUBSCRIBERS)
        self.assertIn("more than %d pending" % KEY_MAX, logs[0]["message"])


class OrderAndCrashTest(unittest.TestCase):
    """A subscriber that fails for a while, then answers."""

    def setUp(self):
        self.d = Daemon().start()
        self.addCleanup(self.d.cleanup)
        self.sol = SolClient(self.d)
        self.d.onboard(sol_vnfd())
        self.hook = Endpoint(post_status=503)
        self.addCleanup(self.hook.close)

    def test_kill9_with_pending_notifications_delivers_each_once_in_order(self):
        d, sol = self.d, self.sol
        sol.ok("POST", "/subscriptions", {"callbackUri": self.hook.url()}, expect=(201,))
        iid = sol.create()["id"]
        occ_in = sol.task(iid, "instantiate", {"flavourId": "default"})
        sol.wait(occ_in)
        occ_out = sol.task(iid, "terminate", {"terminationType": "FORCEFUL"})
        sol.wait(occ_out)
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))
        wait_for(lambda: sol003(metrics(d), "pending") == 8, 10, what="8 pending")
        self.assertGreater(self.hook.posts["/notify"], 0)  # tried, refused
        d.kill9()
        self.hook.post_status = None
        d.restart()
        wait_for(lambda: len(self.hook.got) >= 8, 30, what="8 notifications")
        wait_for(lambda: sol003(metrics(d), "pending") == 0, 10, what="an empty outbox")
        got = self.hook.got
        self.assertEqual(len({n["id"] for n in got}), len(got))  # once each
        self.assertEqual(
            [(n["notificationType"], n.get("vnfLcmOpOccId"), n.get("notificationStatus"),
              n.get("operationState")) for n in got],
            [("VnfIdentifierCreationNotification", None, None, None)] +
            [("VnfLcmOperationOccurrenceNotification", occ, status, state)
             for occ in (occ_in, occ_out)
             for status, state in (("START", "STARTING"), ("RESULT", "PROCESSING"),
                                   ("RESULT", "COMPLETED"))] +
            [("VnfIdentifierDeletionNotification", None, None, None)])
        self.assertEqual(sol003(metrics(d), "delivered_total"), 8)


if __name__ == "__main__":
    unittest.main()
