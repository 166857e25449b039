"""Hostile HTTP clients against the real daemon (issue 10): bytes that are
not what an id or a query may hold, requests too large or never finished,
thousands of connections left open, event streams whose client went away.
Every refusal comes at once, with the API's error body, and changes
nothing; the API, /v0/health first, keeps answering."""
import http.server
import json
import os
import resource
import socket
import threading
import time
import unittest

from vnfm import Daemon, DaemonTest, wait_for


def read_response(s):
    """(status, headers, body) of one HTTP/1.1 answer on socket s."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed before an answer: %r" % data)
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(body) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        body = body[:n]
    return status, headers, body


def daemon_fds(d):
    """The sockets the daemon holds open."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % d.proc.pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (d.proc.pid, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


class HostileHttpTest(DaemonTest):

    daemon_args = ("--http-request-timeout-s", "2")

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 20000)), hard))
        super().setUpClass()

    def raw(self, data, timeout=5, src=None):
        """Sends data as it is; returns the answer that comes within timeout."""
        s = socket.create_connection(("127.0.0.1", self.d.port), timeout=timeout,
                                     source_address=(src, 0) if src else None)
        try:
            s.sendall(data)
            return read_response(s)
        finally:
            s.close()

    def get(self, target, **headers):
        lines = ["GET %s HTTP/1.1" % target, "Host: 127.0.0.1",
                 "Authorization: Bearer " + self.d.token]
        lines += ["%s: %s" % kv for kv in headers.items()]
        return self.raw(("\r\n".join(lines) + "\r\n\r\n").encode())

    def assertApiError(self, resp, status, reason=None, field=None, ctype="application/json"):
        code, headers, body = resp
        self.assertEqual(code, status, body)
        self.assertEqual(headers.get("content-type"), ctype, headers)
        doc = json.loads(body)
        self.assertEqual(doc["status"], status)
        if ctype == "application/json":
            self.assertTrue(doc["message"])
            if reason:
                self.assertEqual(doc["error"], reason, doc)
            if field:
                self.assertEqual(doc.get("field"), field, doc)
        else:
            self.assertTrue(doc["detail"])
        return doc

    def test_control_characters_in_ids(self):
        """Finding 1: a NUL cut the id short (DELETE .../fzd%00.backup undeployed fzd)."""
        self.d.onboard("demo-web")
        self.d.deploy("fzd", "demo-web")
        for path in ("/v0/deployments/fzd%00.backup", "/v0/deployments/fzd%0a",
                     "/v0/deployments/fzd%7f", "/v0/deployments/fzd%ff"):
            with self.subTest(path=path):
                resp = self.d.request("DELETE", path)
                self.assertEqual(resp[0], 400, resp[1])
                self.assertEqual(resp[1]["field"], "path")
        self.assertEqual(self.d.deployment("fzd")["status"], "active")
        self.assertEqual(self.d.get("/v0/operations?deployment=fzd")[1]["operations"][0]["type"],
                         "deploy")

    def test_many_query_parameters_answered_at_once(self):
        """Finding 5: 250 query parameters got no answer until the 120 s timeout."""
        query = "&".join("p%d=%d" % (i, i) for i in range(300))
        t0 = time.time()
        self.assertApiError(self.get("/v0/deployments?" + query), 400, "invalid-value", "query")
        self.assertLess(time.time() - t0, 2)
        # repeated names count too
        self.assertApiError(self.get("/v0/deployments?" + "&".join(["status=a"] * 100)), 400)

    def test_malformed_requests_answered_at_once(self):
        """Finding 5 and 8: malformed raw requests were held open or answered
        with an empty body or the HTTP library's HTML page."""
        cases = [
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET /v0/health\r\n\r\n", 400),
            (b"GET /v0/health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400),
            (b"GET /v0/health HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
            (b"GET /v0/health HTTP/1.1\r\n\r\n", 400),  # no Host
            (b"GET /v0/health HTTP/3.0\r\nHost: x\r\n\r\n", 505),
            (b"GET /v0/health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
            (b"POST /v0/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST /v0/tenants HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            (b"GET /v0/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 17000 + b"\r\n\r\n", 431),
            (b"GET /v0/health HTTP/1.1\r\nHost: x\r\n" +
             b"".join(b"X-H%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431),
            (b"GET /v0/health HTTP/1.1\r\nHost: x\r\nBad\x01Name: 1\r\n\r\n", 400),
            (b"GET /v0/health HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
        ]
        for data, status in cases:
            with self.subTest(data=data[:60]):
                t0 = time.time()
                self.assertApiError(self.raw(data, timeout=3), status)
                self.assertLess(time.time() - t0, 2)
        # under /vnflcm the same refusals are ProblemDetails
        self.assertApiError(self.raw(b"GET /vnflcm/v1/" + b"a" * 9000 + b" HTTP/1.1\r\n"
                                     b"Host: x\r\n\r\n"), 414, ctype="application/problem+json")
        self.assertEqual(self.d.get("/v0/health", token=None)[0], 200)

    def test_invalid_utf8_in_query(self):
        """Finding 8: ?until=%ff silently dropped the parameter and returned everything."""
        self.assertApiError(self.get("/v0/logs?until=%ff"), 400, "invalid-value", "until")
        self.assertApiError(self.get("/v0/logs?category=%c0%af"), 400, "invalid-value",
                            "category")
        self.assertApiError(self.get("/v0/logs?category=a%00b"), 400, "invalid-value",
                            "category")
        self.assertApiError(self.get("/v0/logs?%ff=1"), 400, "invalid-value", "query")
        self.assertApiError(self.get("/v0/logs?category=%zz"), 400, "invalid-value", "query")
        self.assertEqual(self.get("/v0/logs?category=%C3%A9t%C3%A9")[0], 200)

    def test_long_transaction_id_refused_before_the_change(self):
        """Finding 6: an 8,000-character Client-Transaction-Id committed the
        write and no answer came back."""
        status, doc, _ = self.d.post("/v0/tenants", {"id": "txid-long"},
                                     headers={"Client-Transaction-Id": "x" * 8000})
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["field"], "Client-Transaction-Id")
        self.assertEqual(self.d.get("/v0/tenants/txid-long")[0], 404)
        status, _, hdrs = self.d.post("/v0/tenants", {"id": "txid-ok"},
                                      headers={"Client-Transaction-Id": "t" * 256})
        self.assertEqual((status, hdrs["Client-Transaction-Id"]), (201, "t" * 256))
        self.d.ok("DELETE", "/v0/tenants/txid-ok")

    def test_content_types_and_strict_bodies(self):
        """Finding 10: /v0 took any content type containing 'json'; SOL003
        retry, rollback and fail took any body."""
        status, doc, _ = self.d.request("POST", "/v0/tenants", {"id": "jsonx"},
                                        headers={"Content-Type": "application/jsonx"})
        self.assertEqual((status, doc["error"]), (415, "unsupported-media-type"), doc)
        self.assertEqual(self.d.get("/v0/tenants/jsonx")[0], 404)
        status, _, _ = self.d.request("POST", "/v0/tenants", {"id": "jsonok"},
                                      headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(status, 201)
        self.d.ok("DELETE", "/v0/tenants/jsonok")
        for task in ("retry", "rollback", "fail"):
            for body, field in (({"x": 1}, "x"), ([1], None), ("yes", None)):
                with self.subTest(task=task, body=body):
                    status, doc, hdrs = self.d.request(
                        "POST", "/vnflcm/v1/vnf_lcm_op_occs/op-000000000000/" + task, body,
                        headers={"Version": "1.3.0"})
                    self.assertEqual(status, 400, doc)
                    self.assertEqual(hdrs["Content-Type"], "application/problem+json")
                    if field:
                        self.assertEqual(doc["field"], field)
            status, doc, _ = self.d.request(
                "POST", "/vnflcm/v1/vnf_lcm_op_occs/op-000000000000/" + task,
                headers={"Version": "1.3.0"})
            self.assertEqual(status, 404, doc)  # no body: on to the occurrence

    def test_half_open_connections_keep_health_answering(self):
        """Finding 7: 4,200 half-open connections stopped the whole API,
        health included."""
        socks = []
        try:
            for i in range(4200):
                s = socket.socket()
                s.setblocking(False)
                s.bind(("127.0.0.2", 0))
                s.connect_ex(("127.0.0.1", self.d.port))
                socks.append(s)
            time.sleep(0.5)
            for s in socks[:100]:  # some begin a request and stall
                try:
                    s.send(b"GET /v0/health HTTP/1.1\r\nHost: x\r\n")
                except OSError:
                    pass
            t0 = time.time()
            status, _, body = self.raw(b"GET /v0/health HTTP/1.1\r\nHost: x\r\n\r\n", timeout=2)
            self.assertEqual(status, 200, body)
            self.assertLess(time.time() - t0, 1)
            self.assertEqual(self.d.get("/v0/version")[0], 200)
            # the stalled requests end with a 408 once the request timeout (2 s) passes
            wait_for(lambda: daemon_fds(self.d) < 50, 10, 0.2, "stalled connections closed")
        finally:
            for s in socks:
                s.close()

    def test_connection_limit_closes_the_oldest_idle(self):
        """At --http-max-conns, a new client still gets in: the oldest
        connection that is idle or stalled in its request goes."""
        socks = []
        try:
            for i in range(4300):  # 86 clients of 50, over the limit of 4096
                s = socket.socket()
                s.bind(("127.0.%d.%d" % (1 + i // 50 // 250, 3 + i // 50 % 250), 0))
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", self.d.port))
                socks.append(s)
            time.sleep(0.5)
            status, _, _ = self.raw(b"GET /v0/health HTTP/1.1\r\nHost: x\r\n\r\n", timeout=2)
            self.assertEqual(status, 200)
        finally:
            for s in socks:
                s.close()

    def test_closed_event_streams_end_at_once(self):
        """Finding 12: a stream whose client went away was closed only at the
        next 15 s keep-alive."""
        wait_for(lambda: daemon_fds(self.d) < 50, 10, 0.2, "a quiet daemon")
        before = daemon_fds(self.d)
        for _ in range(5):
            streams = []
            for _ in range(100):
                s = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
                s.sendall(("GET /v0/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                           "\r\n" % self.d.token).encode())
                streams.append(s)
            for s in streams:
                self.assertIn(b"200 OK", s.recv(4096))
            self.assertGreaterEqual(daemon_fds(self.d), before + 95)  # probes come and go
            for s in streams:
                s.close()
            wait_for(lambda: daemon_fds(self.d) <= before + 5, 1, 0.05, "streams closed")


class StopTest(unittest.TestCase):
    """A manager stopped while requests are in flight (queued on the
    transactor, or waiting for a worker) answers or drops them and frees
    them: a CI run once found LeakSanitizer reports of request bodies at
    exit."""

    def test_stop_with_requests_in_flight(self):
        class Slow(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # a SOL013 endpoint test that takes its time
                time.sleep(1)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        self.addCleanup(hook.server_close)
        self.addCleanup(hook.shutdown)
        for cycle in range(3):
            d = Daemon().start()
            done = threading.Event()

            def writer(k):
                i = 0
                while not done.is_set():
                    try:
                        if k == 0:
                            d.request("POST", "/vnflcm/v1/subscriptions", {
                                "callbackUri": "http://127.0.0.1:%d/n%d" % (hook.server_port, i)},
                                headers={"Version": "1.3.0"})
                        else:
                            d.request("POST", "/v0/tenants", {"id": "s%d-%d-%d" % (cycle, k, i)})
                    except Exception:  # the manager went away: expected
                        return
                    i += 1

            threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
            try:
                for t in threads:
                    t.start()
                time.sleep(0.3 + 0.2 * cycle)
                d.stop()  # a clean exit without any sanitizer report
            finally:
                done.set()
                for t in threads:
                    t.join(30)
                d.cleanup()


if __name__ == "__main__":
    unittest.main()
