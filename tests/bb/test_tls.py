"""The REST API over TLS (vnfmd --tls-cert/--tls-key; docs/SECURITY.md "API
and network"): a CA and a server certificate made with openssl here; reads,
writes and event streams over HTTPS with the CA checked, by Python and by
vnfmctl (VNFM_CA, --cacert); a client trusting another CA is refused; plain
HTTP to the port gets a clean 400; TLS 1.2+ with forward-secret AEAD only;
stalled handshakes hold no thread and are closed at the request timeout;
the per-client cap still applies."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

from vnfm import Daemon, DaemonTest, wait_for


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    """A self-signed CA in d: (cert path, key path)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "2", "-subj", "/CN=%s" % name, "-keyout", name + ".key", "-out",
            name + ".pem", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


def make_server_cert(d, ca, ips=("127.0.0.1",)):
    """A certificate for ips and localhost signed by ca: (cert path, key path)."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=vnfmd", "-keyout",
            "server.key", "-out", "server.csr", cwd=d)
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=%s,DNS:localhost\nextendedKeyUsage=serverAuth\n" %
                ",".join("IP:" + ip for ip in ips))
    openssl("x509", "-req", "-in", "server.csr", "-CA", ca[0], "-CAkey", ca[1],
            "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "server.pem", cwd=d)
    return os.path.join(d, "server.pem"), os.path.join(d, "server.key")


class TlsTest(DaemonTest):

    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="vnfm-tls-")
        cls.ca = make_ca(cls.pki, "ca")
        cls.other_ca = make_ca(cls.pki, "other")
        cert, key = make_server_cert(cls.pki, cls.ca)
        cls.d = Daemon("--tls-cert", cert, "--tls-key", key, "--http-request-timeout-s", "2",
                       "--http-max-conns-per-client", "16", ca=cls.ca[0]).start()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.pki, ignore_errors=True)

    def tls_socket(self, ctx=None, src="127.0.0.1"):
        ctx = ctx or ssl.create_default_context(cafile=self.ca[0])
        raw = socket.create_connection(("127.0.0.1", self.d.port), timeout=5,
                                       source_address=(src, 0))
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    def test_reads_and_writes_over_https(self):
        self.assertTrue(self.d.url.startswith("https://"))
        st, doc, _ = self.d.get("/v0/health", token=None)
        self.assertIn(st, (200, 503), doc)
        self.d.ok("POST", "/v0/tenants", {"id": "tls-t1", "description": "over TLS"})
        st, doc, _ = self.d.get("/v0/tenants/tls-t1")
        self.assertEqual((st, doc["description"]), (200, "over TLS"))
        st, doc, _ = self.d.get("/v0/deployments")
        self.assertEqual(st, 200, doc)
        # errors keep their body
        self.assertError(self.d.get("/v0/tenants/nope"), 404)
        # a big answer comes whole (many TLS records)
        for i in range(40):
            self.d.ok("POST", "/v0/tenants", {"id": "tls-big%d" % i, "description": "x" * 1000})
        st, doc, _ = self.d.get("/v0/tenants")
        self.assertEqual(len([t for t in doc["tenants"] if t["id"].startswith("tls-big")]), 40)

    def test_protocol_and_ciphers(self):
        with self.tls_socket() as s:
            self.assertIn(s.version(), ("TLSv1.2", "TLSv1.3"))
        ctx = ssl.create_default_context(cafile=self.ca[0])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with self.tls_socket(ctx) as s:
            self.assertEqual(s.version(), "TLSv1.2")
            name = s.cipher()[0]
            self.assertTrue(name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name),
                            name)
        # a TLS 1.2 client offering only CBC suites without forward secrecy is refused
        ctx = ssl.create_default_context(cafile=self.ca[0])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("AES128-SHA:AES256-SHA")
        with self.assertRaises(ssl.SSLError):
            self.tls_socket(ctx).close()

    def test_pipelined_requests_over_tls(self):
        """Requests sent in one record are all answered (plaintext that TLS
        has decrypted but not yet been read raises no event)."""
        with self.tls_socket() as s:
            one = ("GET /v0/health HTTP/1.1\r\nHost: x\r\n\r\n").encode()
            body = b'{"id": "tls-pipe"' + b" " * 20000 + b"}"  # ends in a later record
            post = ("POST /v0/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % (self.d.token, len(body))).encode() + body
            s.sendall(post + one * 5)
            data, deadline = b"", time.time() + 10
            while data.count(b"HTTP/1.1 ") < 6 and time.time() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertEqual(data.count(b"HTTP/1.1 "), 6, data)
        self.assertTrue(data.startswith(b"HTTP/1.1 201 "), data[:100])

    def test_event_stream_over_tls(self):
        req = urllib.request.Request(self.d.url + "/v0/events?after=0&category=audit",
                                     headers={"Authorization": "Bearer " + self.d.token})
        self.d.ok("POST", "/v0/tenants", {"id": "tls-events"})
        with urllib.request.urlopen(req, timeout=10, context=self.d.tls) as r:
            self.assertEqual(r.headers["Content-Type"], "text/event-stream")
            lines, deadline = [], time.time() + 10
            while time.time() < deadline and not any("tls-events" in l for l in lines):
                lines.append(r.readline().decode())
        self.assertTrue(any(l.startswith("data: ") and "tls-events" in l for l in lines), lines)

    def test_vnfmctl_checks_the_ca(self):
        r = self.d.ctl("tenant", "list")  # VNFM_CA
        self.assertEqual(r.returncode, 0, r.stderr)
        env = dict(os.environ, VNFM_URL=self.d.url, VNFM_TOKEN=self.d.token)
        env.pop("VNFM_CA", None)
        from vnfm import VNFMCTL
        r = subprocess.run([VNFMCTL, "--cacert", self.ca[0], "-o", "json", "tenant", "list"],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tenants", json.loads(r.stdout))
        # the wrong CA (and the system's, which never signed it): cannot connect
        for args in (["--cacert", self.other_ca[0]], []):
            r = subprocess.run([VNFMCTL] + args + ["tenant", "list"], capture_output=True,
                               text=True, env=env, timeout=60)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("certificate", r.stderr.lower())

    def test_client_with_another_ca_is_refused(self):
        ctx = ssl.create_default_context(cafile=self.other_ca[0])
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.tls_socket(ctx).close()
        # and the server is still there
        self.assertIn(self.d.get("/v0/health", token=None)[0], (200, 503))

    def test_plain_http_is_refused_cleanly(self):
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=5) as s:
            s.sendall(b"GET /v0/health HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        self.assertTrue(head.startswith(b"HTTP/1.1 400 "), head)
        self.assertIn(b"Connection: close", head)
        self.assertIn("HTTPS", json.loads(body)["message"])
        self.assertIn(self.d.get("/v0/health", token=None)[0], (200, 503))

    def test_stalled_handshakes_hold_no_thread(self):
        """Connections that never finish their handshake (silent, or a
        ClientHello cut short) do not stop others and are closed at the
        request timeout (2 s here)."""
        stalled = []
        for i in range(12):
            s = socket.create_connection(("127.0.0.1", self.d.port), timeout=5,
                                         source_address=("127.0.0.3", 0))
            if i % 2:
                s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello's start
            stalled.append(s)
        t0 = time.time()
        for _ in range(5):
            self.assertIn(self.d.get("/v0/health", token=None)[0], (200, 503))
        self.assertLess(time.time() - t0, 1.5)
        for s in stalled:
            s.settimeout(6)
            try:
                self.assertEqual(s.recv(100), b"")  # closed by the server
            except ConnectionResetError:
                pass
            self.assertLess(time.time() - t0, 5)
            s.close()

    def test_per_client_cap_applies(self):
        held = [self.tls_socket(src="127.0.0.4") for _ in range(16)]
        try:
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                s = self.tls_socket(src="127.0.0.4")
                s.sendall(b"GET /v0/health HTTP/1.1\r\nHost: x\r\n\r\n")
                if not s.recv(100):
                    raise ConnectionError("closed")
            # another address is served
            with self.tls_socket(src="127.0.0.5") as s:
                s.sendall(b"GET /v0/health HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 "))
        finally:
            for s in held:
                s.close()


class TlsOptionsTest(unittest.TestCase):

    def test_bad_files_and_halves_are_refused_at_start(self):
        pki = tempfile.mkdtemp(prefix="vnfm-tls-")
        try:
            ca = make_ca(pki, "ca")
            cert, key = make_server_cert(pki, ca)
            for args, what in ((["--tls-cert", cert], "go together"),
                               (["--tls-cert", cert, "--tls-key", ca[1]], ca[1]),
                               (["--tls-cert", "/nonexistent.pem", "--tls-key", key],
                                "/nonexistent.pem")):
                d = Daemon(*args)
                try:
                    r = subprocess.run(d.args(), capture_output=True, text=True, timeout=30)
                    self.assertNotEqual(r.returncode, 0)
                    self.assertIn(what, r.stderr)
                finally:
                    d.forget()
        finally:
            shutil.rmtree(pki, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
