"""ETSI SOL005 VNF package management (/vnfpkgm/v1, docs/PACKAGES.md) driven
by OpenStack's own client (Debian python3-tackerclient through the
openstack command, run in this process) against the real daemon: a sample
CSAR built by make is created, uploaded, on-boarded, used by a SOL003 VNF
instance through its vnfdId, disabled and deleted; bad packages (a wrong
checksum, no VNFD, an unmappable TOSCA node, a zip bomb, a path climbing out,
a symbolic link) end in ERROR with the reason and nothing of them kept;
subscribers get the SOL005 notifications."""
import contextlib
import http.client
import http.server
import io
import json
import os
import shutil
import struct
import subprocess
import threading
import unittest
import zipfile

from vnfm import BUILD, SCRATCH, VNFMD, Daemon, DaemonTest, free_port, wait_for
from test_sol003 import Listener

PKGM = "/vnfpkgm/v1"
V1 = "/vnflcm/v1"
H1 = {"Version": "1.3.0"}
SAMPLES = os.path.join(BUILD, "examples", "packages")


def osc(d, *args, api="1"):
    """openstack ARGS against d (no Keystone: the token and the endpoint
    given), in this process, Tacker's API version api (2: /vnflcm/v2):
    (exit status, stdout, stderr)."""
    from openstackclient import shell
    for k in [k for k in os.environ if k.startswith("OS_")]:
        del os.environ[k]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = shell.OpenStackShell().run(
                ["--os-auth-type", "admin_token", "--os-endpoint", d.url, "--os-token", d.token,
                 "--os-tacker-api-version", api] + list(args))
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def osc_json(d, *args, api="1"):
    rc, out, err = osc(d, *args, "-f", "json", api=api)
    assert rc == 0, "openstack %s -> %s %s %s" % (" ".join(args), rc, out, err)
    return json.loads(out)


def sample(name):
    with open(os.path.join(SAMPLES, name + ".zip"), "rb") as f:
        return f.read()


def repack(name, change=None, extra=()):
    """The sample package name's files as a zip, each file's bytes passed
    through change(path, data) (None drops it), plus extra (ZipInfo, data)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(sample(name))) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if change:
                data = change(info.filename, data)
            if data is not None:
                dst.writestr(info.filename, data)
        for info, data in extra:
            dst.writestr(info, data)
    return out.getvalue()


SCRIPTS_ARGS = ("--package-scripts", os.path.join(SCRATCH, "package-scripts-%d" % os.getpid()))


class PackageTest(DaemonTest):
    # the packages' scripts where sandboxed scripts see them (not under /tmp);
    # the samples are not signed
    daemon_args = SCRIPTS_ARGS + ("--package-unsigned",)

    def create(self):
        st, doc, h = self.d.post(PKGM + "/vnf_packages", {})
        self.assertEqual(st, 201, doc)
        self.assertTrue(h["Location"].endswith(doc["id"]))
        return doc["id"]

    def upload(self, pid, data):
        return self.d.request("PUT", "%s/vnf_packages/%s/package_content" % (PKGM, pid),
                              raw=data, headers={"Content-Type": "application/zip"})

    def settled(self, pid):
        def ended():
            doc = self.d.get("%s/vnf_packages/%s" % (PKGM, pid))[1]
            return doc if doc["onboardingState"] in ("ONBOARDED", "ERROR") else None
        return wait_for(ended, 60, what="package %s on-boarded or in error" % pid)

    def pkg_dir(self, pid):
        return os.path.join(self.d.dir, "packages", pid)


class TestTacker(PackageTest):
    def ops_done(self, iid):
        """Waits until no operation of VNF instance iid runs; none failed."""
        url = V1 + "/vnf_lcm_op_occs?filter=(eq,vnfInstanceId,%s)" % iid

        def ended():
            ops = self.d.get(url, headers=H1)[1]
            return all(o["operationState"] not in ("STARTING", "PROCESSING", "ROLLING_BACK")
                       for o in ops) and ops
        ops = wait_for(ended, 60, what="operations of %s ended" % iid)
        for o in ops:
            self.assertEqual(o["operationState"], "COMPLETED", o)

    def test_lifecycle_with_openstack_client(self):
        d = self.d
        pkg = osc_json(d, "vnf", "package", "create", "--user-data", "owner=nfvo")
        pid = pkg["ID"]
        self.assertEqual(pkg["Onboarding State"], "CREATED")
        rc, out, err = osc(d, "vnf", "package", "upload", "--path",
                           os.path.join(SAMPLES, "demo-web.zip"), pid)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("has been accepted", out)
        self.settled(pid)
        shown = osc_json(d, "vnf", "package", "show", pid)
        self.assertEqual(shown["Onboarding State"], "ONBOARDED", shown)
        self.assertEqual(shown["Operational State"], "ENABLED")
        self.assertEqual(shown["Usage State"], "NOT_IN_USE")
        self.assertEqual(shown["VNF Provider"] if "VNF Provider" in shown
                         else shown.get("Vnf Provider", "vnfm examples"), "vnfm examples")
        vnfd_id = shown.get("VNFD ID") or shown.get("Vnfd Id")
        self.assertTrue(vnfd_id, shown)
        listed = osc_json(d, "vnf", "package", "list")
        self.assertEqual([p["Id"] for p in listed], [pid])
        # its VNFD (four files) as a zip, the client's default; an artifact
        vnfd_zip = os.path.join(d.dir, "vnfd.zip")
        rc, out, err = osc(d, "vnf", "package", "download", "--vnfd", "--file", vnfd_zip, pid)
        self.assertEqual(rc, 0, out + err)
        with zipfile.ZipFile(vnfd_zip) as z:
            self.assertEqual(sorted(z.namelist()), [
                "Definitions/demo_web_df_large.yaml", "Definitions/demo_web_df_simple.yaml",
                "Definitions/demo_web_top.yaml", "Definitions/demo_web_types.yaml",
                "TOSCA-Metadata/TOSCA.meta"])
        rc, out, err = osc(d, "vnf", "package", "download", "--vnfd", "--type", "text/plain", pid)
        self.assertNotEqual(rc, 0)
        self.assertIn("application/zip", out + err)
        script = os.path.join(d.dir, "register.sh")
        rc, out, err = osc(d, "vnf", "package", "artifact", "download", pid,
                           "Scripts/register.sh", "--file", script)
        self.assertEqual(rc, 0, out + err)
        with open(script, "rb") as got, open(os.path.join(
                os.path.dirname(__file__), "../../examples/packages/demo-web/Scripts/register.sh"),
                "rb") as want:
            self.assertEqual(got.read(), want.read())
        # SOL003 with the same client: an instance of the package's VNFD,
        # instantiated, scaled out, healed, terminated and deleted
        inst = osc_json(d, "vnflcm", "create", vnfd_id, "--name", "web1")
        iid = inst["ID"]
        self.assertEqual(inst["VNFD ID"], vnfd_id)
        self.assertEqual(osc_json(d, "vnf", "package", "show", pid)["Usage State"], "IN_USE")
        # in use and enabled: not deleted
        rc, out, err = osc(d, "vnf", "package", "delete", pid)
        self.assertNotEqual(rc, 0)
        self.assertIn("ENABLED", out + err)
        req = os.path.join(d.dir, "instantiate.json")
        with open(req, "w") as f:
            json.dump({"flavourId": "simple"}, f)
        steps = [("instantiate", iid, req), ("scale", "--type", "SCALE_OUT", "--aspect-id",
                                             "web_servers", iid), ("heal", iid),
                 ("terminate", iid)]
        for step in steps:
            rc, out, err = osc(d, "vnflcm", *step)
            self.assertEqual(rc, 0, "%s: %s %s" % (step[0], out, err))
            self.ops_done(iid)
            if step[0] == "scale":
                vnfcs = osc_json(d, "vnflcm", "show", iid)["Instantiated Vnf Info"]["vnfcInfo"]
                self.assertEqual(len(vnfcs), 2)
        ops = [o for o in osc_json(d, "vnflcm", "op", "list") if o["VNF Instance ID"] == iid]
        self.assertEqual(sorted(o["Operation"] for o in ops),
                         ["HEAL", "INSTANTIATE", "SCALE", "TERMINATE"])
        self.assertEqual({o["Operation State"] for o in ops}, {"COMPLETED"})
        rc, out, err = osc(d, "vnflcm", "delete", iid)
        self.assertEqual(rc, 0, out + err)
        upd = osc_json(d, "vnf", "package", "update", "--operational-state", "DISABLED", pid)
        self.assertEqual(upd["Operational State"], "DISABLED")
        # a disabled package's VNFD makes no new instance
        st, doc, _ = d.request("POST", V1 + "/vnf_instances", {"vnfdId": vnfd_id}, headers=H1)
        self.assertEqual(st, 422, doc)
        self.assertIn("DISABLED", doc["detail"])
        rc, out, err = osc(d, "vnf", "package", "delete", pid)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(d.get("%s/vnf_packages/%s" % (PKGM, pid))[0], 404)
        self.assertEqual(d.get("/v0/vnfds/" + vnfd_id)[0], 404)
        wait_for(lambda: not os.path.exists(self.pkg_dir(pid)), 10, what="package files removed")

    def test_lifecycle_v2_with_openstack_client(self):
        """The same client on /vnflcm/v2 (--os-tacker-api-version 2)."""
        d = self.d
        pid = self.create()
        self.upload(pid, sample("demo-web"))
        vnfd_id = self.settled(pid)["vnfdId"]
        inst = osc_json(d, "vnflcm", "create", vnfd_id, "--name", "web2", api="2")
        iid = inst["ID"]
        self.assertEqual(inst["VNFD ID"], vnfd_id)
        req = os.path.join(d.dir, "instantiate2.json")
        with open(req, "w") as f:
            json.dump({"flavourId": "simple"}, f)
        steps = [("instantiate", iid, req), ("scale", "--type", "SCALE_OUT", "--aspect-id",
                                             "web_servers", iid), ("heal", iid),
                 ("terminate", iid)]
        for step in steps:
            rc, out, err = osc(d, "vnflcm", *step, api="2")
            self.assertEqual(rc, 0, "%s: %s %s" % (step[0], out, err))
            self.ops_done(iid)
            if step[0] == "scale":
                shown = osc_json(d, "vnflcm", "show", iid, api="2")
                self.assertEqual(len(shown["Instantiated Vnf Info"]["vnfcInfo"]), 2)
        ops = [o for o in osc_json(d, "vnflcm", "op", "list", api="2")
               if o["VNF Instance ID"] == iid]
        self.assertEqual(sorted(o["Operation"] for o in ops),
                         ["HEAL", "INSTANTIATE", "SCALE", "TERMINATE"])
        self.assertEqual({o["Operation State"] for o in ops}, {"COMPLETED"})
        rc, out, err = osc(d, "vnflcm", "delete", iid, api="2")
        self.assertEqual(rc, 0, out + err)
        d.ok("PATCH", "%s/vnf_packages/%s" % (PKGM, pid), {"operationalState": "DISABLED"})
        d.ok("DELETE", "%s/vnf_packages/%s" % (PKGM, pid))


class TestContent(PackageTest):
    def fetch(self, path, accept=None):
        """GET of path: (status, body bytes, headers)."""
        import urllib.error
        import urllib.request
        h = {"Authorization": "Bearer " + self.d.token}
        if accept:
            h["Accept"] = accept
        req = urllib.request.Request(self.d.url + path, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def test_content_vnfd_and_links(self):
        d = self.d
        pid = self.create()
        st, doc, _ = d.get("%s/vnf_packages/%s/package_content" % (PKGM, pid))
        self.assertEqual(st, 409, doc)
        self.assertEqual(doc["status"], 409)
        data = sample("nginx-lb")
        st, doc, _ = self.upload(pid, data)
        self.assertEqual(st, 202, doc)
        pkg = self.settled(pid)
        self.assertEqual(pkg["onboardingState"], "ONBOARDED", pkg)
        self.assertIn("vnfd", pkg["_links"])
        import urllib.request
        req = urllib.request.Request(d.url + "%s/vnf_packages/%s/package_content" % (PKGM, pid),
                                     headers={"Authorization": "Bearer " + d.token})
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertEqual(r.headers["Content-Type"], "application/zip")
            self.assertEqual(r.read(), data)
        req = urllib.request.Request(d.url + "%s/vnf_packages/%s/vnfd" % (PKGM, pid),
                                     headers={"Authorization": "Bearer " + d.token,
                                              "Accept": "text/plain"})
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertIn("tosca_definitions_version", r.read().decode())
        vnfd = "%s/vnf_packages/%s/vnfd" % (PKGM, pid)
        # SOL005 9.4.4.3.2: a VNFD of one file as a zip, or as its file when both are accepted
        st, body, h = self.fetch(vnfd, "application/zip")
        self.assertEqual((st, h["Content-Type"]), (200, "application/zip"))
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            self.assertEqual(z.namelist(), ["nginx_lb.yaml"])
            with zipfile.ZipFile(io.BytesIO(data)) as pkg:
                self.assertEqual(z.read("nginx_lb.yaml"), pkg.read("nginx_lb.yaml"))
        st, body, h = self.fetch(vnfd, "text/plain, application/zip")
        self.assertEqual((st, h["Content-Type"]), (200, "text/plain"))
        st, body, h = self.fetch(vnfd, "application/json")
        self.assertEqual(st, 406, body)
        # artifacts: what the manifest lists, by a path of several segments
        art = "%s/vnf_packages/%s/artifacts/" % (PKGM, pid)
        st, body, h = self.fetch(art + "Files/nginx.conf")
        self.assertEqual(st, 200, body)
        with zipfile.ZipFile(io.BytesIO(data)) as pkg:
            self.assertEqual(body, pkg.read("Files/nginx.conf"))
        for bad in ("nginx_lb.mf",  # in the archive, not listed by the manifest
                    "Files/missing", "Files/../nginx_lb.mf", "Files/%2E%2E/nginx_lb.mf",
                    "Files%2F..%2Fnginx_lb.mf", "Files//nginx.conf", "Files/./nginx.conf"):
            st, body, _ = self.fetch(art + bad)
            self.assertEqual(st, 404, (bad, body))
        self.assertEqual(self.fetch(art[:-1])[0], 404)
        # an artifact spoilt on disk after on-boarding: the answer is cut
        # short (no last chunk), not ended as if it were whole
        stored = os.path.join(self.pkg_dir(pid), "package.zip")
        with zipfile.ZipFile(stored) as z:
            info = z.getinfo("Files/nginx.conf")
        with open(stored, "r+b") as f:
            f.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", f.read(4))
            f.seek(info.header_offset + 30 + name_len + extra_len + info.compress_size // 2)
            byte = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([byte[0] ^ 0xff]))
        with self.assertRaises(http.client.IncompleteRead):
            self.fetch(art + "Files/nginx.conf")
        # a second upload of an on-boarded package is refused
        st, doc, _ = self.upload(pid, data)
        self.assertEqual(st, 409, doc)
        self.assertEqual(d.request("DELETE", "%s/vnf_packages/%s" % (PKGM, pid))[0], 409)


class TestETag(PackageTest):
    def test_patch_if_match(self):
        """PATCH of a package honours If-Match (issue 15 item 5)."""
        d = self.d
        pid = self.create()
        url = "%s/vnf_packages/%s" % (PKGM, pid)
        tag = d.get(url)[2]["ETag"]
        st, doc, _ = d.request("PATCH", url, {"userDefinedData": {"a": "1"}},
                               headers={"If-Match": '"stale"'})
        self.assertEqual(st, 412, doc)
        self.assertEqual(d.get(url)[1]["userDefinedData"], {})
        st, doc, h = d.request("PATCH", url, {"userDefinedData": {"a": "1"}},
                               headers={"If-Match": tag})
        self.assertEqual(st, 200, doc)
        self.assertEqual(h["ETag"], d.get(url)[2]["ETag"])
        self.assertNotEqual(h["ETag"], tag)
        self.assertEqual(d.get(url)[1]["userDefinedData"], {"a": "1"})


class TestBadPackages(PackageTest):
    def refused(self, data, *words):
        pid = self.create()
        st, doc, _ = self.upload(pid, data)
        self.assertEqual(st, 202, doc)
        pkg = self.settled(pid)
        self.assertEqual(pkg["onboardingState"], "ERROR", pkg)
        detail = pkg["onboardingFailureDetails"]["detail"]
        for w in words:
            self.assertIn(w, detail)
        wait_for(lambda: not os.path.exists(self.pkg_dir(pid)), 10, what="nothing kept")
        self.assertEqual([v for v in self.d.get("/v0/vnfds")[1]["vnfds"]
                          if v.get("package") == pid], [])
        return detail

    def test_wrong_checksum(self):
        self.refused(repack("demo-web", lambda p, b: b + b"#" if p == "Scripts/register.sh"
                            else b), "Scripts/register.sh", "checksum")

    def test_missing_vnfd(self):
        self.refused(repack("nginx-lb", lambda p, b: None if p == "nginx_lb.yaml" else b))

    def test_unmappable_node(self):
        def change(path, data):
            if path != "nginx_lb.yaml":
                return data
            return data.replace(b"type: vnfm.nodes.Vdu.Process", b"type: tosca.nodes.nfv.Vdu.Compute")
        self.refused(repack("nginx-lb", change), "nginx_lb.yaml", "lb")

    def test_zip_bomb(self):
        bomb = zipfile.ZipInfo("Files/zeros.bin")
        bomb.compress_type = zipfile.ZIP_DEFLATED
        self.refused(repack("nginx-lb", extra=[(bomb, bytes(64 << 20))]), "zip bomb")

    def test_path_traversal(self):
        self.refused(repack("nginx-lb", extra=[(zipfile.ZipInfo("Files/../../evil.sh"),
                                                b"#!/bin/sh\n")]), "..")
        self.assertFalse(os.path.exists(os.path.join(self.d.dir, "evil.sh")))

    def test_symlink(self):
        link = zipfile.ZipInfo("Files/passwd")
        link.external_attr = (0o120777 << 16)
        link.create_system = 3
        self.refused(repack("nginx-lb", extra=[(link, b"/etc/passwd")]), "Files/passwd")

    def test_not_a_zip(self):
        self.refused(b"PK\x03\x04 this is no archive" * 10)

    def test_bad_requests(self):
        d = self.d
        pid = self.create()
        st, doc, _ = d.request("PUT", "%s/vnf_packages/%s/package_content" % (PKGM, pid),
                               raw=sample("nginx-lb"), headers={"Content-Type": "text/yaml"})
        self.assertEqual(st, 415, doc)
        st, doc, _ = d.request("PATCH", "%s/vnf_packages/%s" % (PKGM, pid),
                               {"operationalState": "SLEEPING"})
        self.assertEqual(st, 400, doc)
        self.assertIn("operationalState", doc["detail"])
        st, doc, _ = d.post("%s/vnf_packages/%s/package_content/upload_from_uri" % (PKGM, pid),
                            {"addressInformation": "http://169.254.169.254/latest"})
        self.assertEqual(st, 422, doc)
        self.assertIn("--package-uri", doc["detail"])
        self.assertEqual(d.get("%s/vnf_packages/nope" % PKGM)[0], 404)
        self.assertEqual(d.get(PKGM + "/vnf_packages/" + pid)[1]["onboardingState"], "CREATED")


class TestFromUri(PackageTest):
    """upload_from_uri from a prefix the admin allowed (--package-uri)."""

    port = free_port()
    daemon_args = PackageTest.daemon_args + (
        "--package-uri", "http://127.0.0.1:%d/allowed/" % port)

    def test_fetched_and_onboarded(self):
        data = sample("nginx-lb")

        class Serve(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path == "/allowed/nginx-lb.zip" else 404)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Serve)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        pid = self.create()
        url = "%s/vnf_packages/%s/package_content/upload_from_uri" % (PKGM, pid)
        base = "http://127.0.0.1:%d/" % self.port
        st, doc, _ = self.d.post(url, {"addressInformation": base + "other/nginx-lb.zip"})
        self.assertEqual(st, 422, doc)
        st, doc, _ = self.d.post(url, {"addressInformation": base + "allowed/missing.zip"})
        self.assertEqual(st, 202, doc)
        pkg = self.settled(pid)
        self.assertEqual(pkg["onboardingState"], "ERROR", pkg)
        self.assertIn("404", pkg["onboardingFailureDetails"]["detail"])
        st, doc, _ = self.d.post(url, {"addressInformation": base + "allowed/nginx-lb.zip"})
        self.assertEqual(st, 202, doc)
        pkg = self.settled(pid)
        self.assertEqual(pkg["onboardingState"], "ONBOARDED", pkg)
        self.assertEqual(pkg["vnfProductName"], "nginx load balancer")


class TestCrash(PackageTest):
    def test_kill9_while_processing(self):
        """A package the manager was processing when it was killed is
        processed again at the next start; nothing is lost or half kept."""
        big = repack("nginx-lb", extra=[(zipfile.ZipInfo("Files/random.bin"),
                                         os.urandom(48 << 20))])
        # the random artifact is not in the manifest: give it its checksum
        pid = self.create()
        st, doc, _ = self.upload(pid, big)
        self.assertEqual(st, 202, doc)
        state = self.d.get("%s/vnf_packages/%s" % (PKGM, pid))[1]["onboardingState"]
        self.d.kill9()
        if state != "PROCESSING":
            self.skipTest("on-boarding ended before the kill (%s)" % state)
        self.d.restart()
        pkg = self.settled(pid)
        self.assertEqual(pkg["onboardingState"], "ONBOARDED", pkg)
        self.assertIn("PROCESSING at the last stop", self.d.log())
        self.assertEqual(self.d.get("/v0/vnfds/" + pkg["vnfdId"])[0], 200)


class TestLimits(PackageTest):
    daemon_args = PackageTest.daemon_args + ("--package-max-mb", "1")

    def test_too_large(self):
        pid = self.create()
        st, doc, _ = self.upload(pid, bytes(2 << 20))
        self.assertEqual(st, 413, doc)
        self.assertEqual(self.d.get(PKGM + "/vnf_packages/" + pid)[1]["onboardingState"],
                         "CREATED")


class TestStreamedBody(PackageTest):
    """An archive is written into a file as it arrives, never held whole
    (util/httpd.c body_file)."""

    def status_kb(self, field):
        with open("/proc/%d/status" % self.d.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError(field)

    def uploads(self):
        return os.listdir(os.path.join(self.d.dir, "packages", ".uploads"))

    def test_memory_bound(self):
        """64 MB of package raise the manager's memory peak by far less
        than 64 MB while they arrive (fails before: +64 MB, the body held
        whole), and the archive kept is the one sent."""
        big = repack("nginx-lb", extra=[(zipfile.ZipInfo("Files/random.bin"),
                                         os.urandom(64 << 20))])
        pid = self.create()
        before = self.status_kb("VmRSS")
        with open("/proc/%d/clear_refs" % self.d.proc.pid, "w") as f:
            f.write("5")  # VmHWM starts again from VmRSS
        st, doc, _ = self.upload(pid, big)
        peak = self.status_kb("VmHWM")
        self.assertEqual(st, 202, doc)
        self.assertLess(peak - before, 24 << 10, "peak %d kB, %d kB before" % (peak, before))
        self.assertEqual(self.settled(pid)["onboardingState"], "ONBOARDED")
        self.assertEqual(self.uploads(), [])
        with open(os.path.join(self.pkg_dir(pid), "package.zip"), "rb") as f:
            self.assertTrue(f.read() == big)

    def test_chunked(self):
        """A chunked body goes into the file too, chunk by chunk."""
        import http.client
        pid = self.create()
        data = sample("nginx-lb")
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        conn.request("PUT", "%s/vnf_packages/%s/package_content" % (PKGM, pid),
                     body=iter([data[i:i + 1000] for i in range(0, len(data), 1000)]),
                     headers={"Content-Type": "application/zip",
                              "Authorization": "Bearer " + self.d.token},
                     encode_chunked=True)
        r = conn.getresponse()
        self.assertEqual(r.status, 202, r.read())
        conn.close()
        self.assertEqual(self.settled(pid)["onboardingState"], "ONBOARDED")
        self.d.ok("PATCH", "%s/vnf_packages/%s" % (PKGM, pid), {"operationalState": "DISABLED"})
        self.d.ok("DELETE", "%s/vnf_packages/%s" % (PKGM, pid))

    def test_no_token_no_upload(self):
        """A client without a valid token may not send a package: a body
        announced larger than 16 MiB is refused at its head with a 401
        (fails before: the manager waited for the body, to refuse it once
        it had it all)."""
        import socket
        pid = self.create()
        for auth in ("", "Authorization: Bearer nope\r\n"):
            s = socket.create_connection(("127.0.0.1", self.d.port), timeout=10)
            s.sendall(("PUT %s/vnf_packages/%s/package_content HTTP/1.1\r\nHost: x\r\n%s"
                       "Content-Type: application/zip\r\nContent-Length: %d\r\n\r\n"
                       % (PKGM, pid, auth, 64 << 20)).encode())
            answer = s.recv(4096).decode()
            s.close()
            self.assertTrue(answer.startswith("HTTP/1.1 401"), answer)
            self.assertIn("valid token", answer)

    def test_client_goes(self):
        """A client that goes half-way through its upload leaves no file
        behind, and the package as it was."""
        import socket
        pid = self.create()
        s = socket.create_connection(("127.0.0.1", self.d.port))
        s.sendall(("PUT %s/vnf_packages/%s/package_content HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\nContent-Type: application/zip\r\n"
                   "Content-Length: %d\r\n\r\n" % (PKGM, pid, self.d.token, 8 << 20)).encode())
        s.sendall(bytes(1 << 20))
        self.assertEqual(self.uploads(), [])  # a file without a name while it arrives
        s.close()
        self.assertEqual(self.d.get(PKGM + "/vnf_packages/" + pid)[1]["onboardingState"],
                         "CREATED")
        self.assertEqual(self.uploads(), [])


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_signers(d):
    """In directory d: ca.pem (a CA), signer.pem/key (a certificate it
    issued) and rogue.pem/key (self-signed, vouched for by nobody)."""
    subj = "/O=vnfm tests/CN="
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", subj + "packages CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            "signer.key", "-out", "signer.csr", "-subj", subj + "a vendor", cwd=d)
    openssl("x509", "-req", "-in", "signer.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "signer.pem", "-days", "2", cwd=d)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2", "-subj", subj + "rogue",
            cwd=d)


def signed(d, who="signer", certs=True, tamper=False, cert_file=False):
    """The nginx-lb sample with its manifest signed (SOL004 security option
    1) by who's key in directory d; the certificate in the signature
    (certs) or in nginx_lb.cert (cert_file); tamper: the manifest changed
    after signing."""
    with zipfile.ZipFile(io.BytesIO(sample("nginx-lb"))) as z:
        mf = z.read("nginx_lb.mf")
    with open(os.path.join(d, "mf"), "wb") as f:
        f.write(mf)
    openssl("cms", "-sign", "-binary", "-in", "mf", "-signer", who + ".pem", "-inkey",
            who + ".key", "-outform", "PEM", "-out", "mf.cms", *(() if certs else ("-nocerts",)),
            cwd=d)
    with open(os.path.join(d, "mf.cms"), "rb") as f:
        cms = f.read()
    if tamper:
        mf = mf.replace(b"vnf_package_version: ", b"vnf_package_version: 9")
    extra = []
    if cert_file:
        with open(os.path.join(d, who + ".pem"), "rb") as f:
            extra.append((zipfile.ZipInfo("nginx_lb.cert"), f.read()))
    return repack("nginx-lb", lambda p, b: mf + cms if p == "nginx_lb.mf" else b, extra)


class TestSigned(PackageTest):
    """Signed packages (SOL004 security option 1): the manifest's CMS
    signature is verified against --package-trust; unsigned packages are
    refused without --package-unsigned (the default)."""

    keys = os.path.join(SCRATCH, "package-keys-%d" % os.getpid())
    daemon_args = SCRIPTS_ARGS + ("--package-trust", os.path.join(keys, "ca.pem"))

    @classmethod
    def setUpClass(cls):
        os.makedirs(cls.keys, exist_ok=True)
        make_signers(cls.keys)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.keys, ignore_errors=True)

    def onboard(self, data):
        pid = self.create()
        st, doc, _ = self.upload(pid, data)
        self.assertEqual(st, 202, doc)
        return pid, self.settled(pid)

    def accepted(self, data):
        pid, pkg = self.onboard(data)
        self.assertEqual(pkg["onboardingState"], "ONBOARDED", pkg)
        self.d.ok("PATCH", "%s/vnf_packages/%s" % (PKGM, pid), {"operationalState": "DISABLED"})
        self.d.ok("DELETE", "%s/vnf_packages/%s" % (PKGM, pid))

    def refused(self, data, *words):
        pid, pkg = self.onboard(data)
        self.assertEqual(pkg["onboardingState"], "ERROR", pkg)
        for w in words:
            self.assertIn(w, pkg["onboardingFailureDetails"]["detail"])
        wait_for(lambda: not os.path.exists(self.pkg_dir(pid)), 10, what="nothing kept")

    def test_signed_by_a_trusted_signer(self):
        self.accepted(signed(self.keys))
        self.assertIn("signed by /O=vnfm tests/CN=a vendor", self.d.log())

    def test_certificate_in_the_package(self):
        """The signer's certificate in the package's .cert file, not in the
        signature."""
        self.accepted(signed(self.keys, certs=False, cert_file=True))

    def test_refused(self):
        self.refused(sample("nginx-lb"), "not signed", "--package-unsigned")
        self.refused(signed(self.keys, "rogue"), "nginx_lb.mf", "not valid")
        self.refused(signed(self.keys, tamper=True), "nginx_lb.mf", "not valid")
        self.refused(signed(self.keys, certs=False), "not valid")


class TestSignedNoTrust(PackageTest):
    """Without --package-trust a signed package cannot be verified: refused,
    naming the option, unless unsigned ones are allowed."""

    daemon_args = SCRIPTS_ARGS

    def test_refused(self):
        keys = os.path.join(self.d.dir, "keys")
        os.makedirs(keys)
        make_signers(keys)
        pid = self.create()
        self.upload(pid, signed(keys))
        pkg = self.settled(pid)
        self.assertEqual(pkg["onboardingState"], "ERROR", pkg)
        self.assertIn("--package-trust", pkg["onboardingFailureDetails"]["detail"])

    def test_trust_file_checked_at_start(self):
        for bad in ("/nonexistent/ca.pem", "ca.pem"):
            out = subprocess.run([VNFMD, "--package-trust", bad], capture_output=True, text=True)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("--package-trust %s: must be a readable file" % bad, out.stderr)


class TestNotifications(PackageTest):
    def test_onboarding_and_change(self):
        d = self.d
        lst = Listener()
        try:
            st, sub, _ = d.post(PKGM + "/subscriptions", {"callbackUri": lst.url})
            self.assertEqual(st, 201, sub)
            # the same again is a second subscription, not a 303 (docs/SOL003.md)
            st, sub2, _ = d.post(PKGM + "/subscriptions", {"callbackUri": lst.url})
            self.assertEqual(st, 201, sub2)
            d.ok("DELETE", PKGM + "/subscriptions/" + sub2["id"])
            # filters that this package never passes: nothing for them
            other = Listener()
            self.addCleanup(other.close)
            for f in ({"vnfProductsFromProviders": [{"vnfProvider": "someone else"}]},
                      {"vnfProductsFromProviders": [{"vnfProvider": "vnfm examples",
                                                     "vnfProducts": [{"vnfProductName": "x"}]}]},
                      {"usageState": ["IN_USE"]}):
                st, doc, _ = d.post(PKGM + "/subscriptions", {"callbackUri": other.url,
                                                               "filter": f})
                self.assertEqual(st, 201, doc)
            st, doc, _ = d.post(PKGM + "/subscriptions", {
                "callbackUri": other.url, "filter": {"vnfProductsFromProviders": [{
                    "vnfProvider": "vnfm examples", "vnfProducts": [{
                        "vnfProductName": "nginx load balancer",
                        "versions": [{"vnfSoftwareVersion": "1.22"}]}]}],
                    "notificationTypes": ["VnfPackageOnboardingNotification"]}})
            self.assertEqual(st, 201, doc)
            pid = self.create()
            self.upload(pid, sample("nginx-lb"))
            self.settled(pid)
            d.ok("PATCH", "%s/vnf_packages/%s" % (PKGM, pid), {"operationalState": "DISABLED"})
            d.ok("DELETE", "%s/vnf_packages/%s" % (PKGM, pid))
            wait_for(lambda: len(lst.got) >= 3, 30, what="three notifications")
            kinds = [(n["notificationType"], n.get("changeType")) for n in lst.got]
            self.assertEqual(kinds, [("VnfPackageOnboardingNotification", None),
                                     ("VnfPackageChangeNotification", "OP_STATE_CHANGE"),
                                     ("VnfPackageChangeNotification", "PKG_DELETE")])
            for n in lst.got:
                self.assertEqual(n["vnfPkgId"], pid)
                self.assertEqual(n["subscriptionId"], sub["id"])
            # of the four filtered subscriptions, only the matching one got one
            wait_for(lambda: other.got, 30, what="the filtered notification")
            self.assertEqual([(n["notificationType"], n["subscriptionId"]) for n in other.got],
                             [("VnfPackageOnboardingNotification", doc["id"])])
        finally:
            lst.close()


if __name__ == "__main__":
    unittest.main()
