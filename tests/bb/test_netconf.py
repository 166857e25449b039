"""NETCONF/YANG northbound interface (F4, seed para 44-45, Tables 1-2).

Real daemons with NETCONF on a free loopback port; ncclient (Debian's
python3-ncclient, run with /usr/bin/python3) as the client, and a raw SSH
client (paramiko) for what ncclient will not send: Table 1 byte for byte,
malformed XML. Every rejected edit is checked against REST too: nothing
changed.
"""
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import paramiko
from nc_client import manager
from ncclient.operations.rpc import RPCError
from ncclient.transport.errors import AuthenticationError
from ncclient.xml_ import to_ele

from vnfm import ROOT, Daemon, DaemonTest, free_port, wait_for

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
VNFM = "urn:vnfm:params:xml:ns:yang:vnfm"
ESC = "http://www.cisco.com/esc/esc"
YANG_DIR = os.path.join(ROOT, "yang")
IETF = "/usr/share/yuma/modules/ietf"

ADMIN_PW = "admin-secret-1"
ALICE_PW = "alice-secret-1"

# Seed Table 1, as written.
TABLE1 = """<rpc message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
<edit-config>
<source>
<running/>
</source>
<config>
<esc_datamodel xmlns="http://www.cisco.com/esc/esc">
<tenants>
<tenant>
<name>mytenant</name>
</tenant>
</tenants>
</esc_datamodel>
</config>
</edit-config>
</rpc>"""


def q(ns, path):
    """'a/b' -> '{ns}a/{ns}b' for ElementTree."""
    return "/".join("{%s}%s" % (ns, p) for p in path.split("/"))


def config(body):
    return '<config xmlns="%s">%s</config>' % (NC, body)


def vnfm(body):
    return config('<vnfm xmlns="%s" xmlns:nc="%s">%s</vnfm>' % (VNFM, NC, body))


def tenant(tid, extra="", op=None):
    attr = ' nc:operation="%s"' % op if op else ""
    return vnfm("<tenants><tenant%s><id>%s</id>%s</tenant></tenants>" % (attr, tid, extra))


class Raw:
    """NETCONF over a bare SSH channel, for messages a library would fix."""

    def __init__(self, port, user, password, base11=True):
        self.t = paramiko.Transport(("127.0.0.1", port))
        self.t.connect(username=user, password=password)
        self.ch = self.t.open_session()
        self.ch.settimeout(10)
        self.ch.invoke_subsystem("netconf")
        self.buf = b""
        self.hello = self._read_eom()
        caps = "urn:ietf:params:netconf:base:1.1" if base11 else "urn:ietf:params:netconf:base:1.0"
        self.ch.sendall(('<hello xmlns="%s"><capabilities><capability>%s</capability>'
                         '</capabilities></hello>]]>]]>' % (NC, caps)).encode())
        self.base11 = base11

    def _read_eom(self):
        while b"]]>]]>" not in self.buf:
            self.buf += self.ch.recv(65536)
        msg, self.buf = self.buf.split(b"]]>]]>", 1)
        return msg.decode()

    def _read_chunked(self):
        out = b""
        while True:
            while b"\n" not in self.buf[1:] or len(self.buf) < 4:
                self.buf += self.ch.recv(65536)
            assert self.buf.startswith(b"\n#"), self.buf[:20]
            head, rest = self.buf[2:].split(b"\n", 1)
            if head == b"#":
                self.buf = rest
                return out.decode()
            size = int(head)
            while len(rest) < size:
                rest += self.ch.recv(65536)
            out += rest[:size]
            self.buf = rest[size:]

    def rpc(self, text):
        data = text.encode()
        if self.base11:
            self.ch.sendall(b"\n#%d\n" % len(data) + data + b"\n##\n")
            return self._read_chunked()
        self.ch.sendall(data + b"]]>]]>")
        return self._read_eom()

    def close(self):
        self.t.close()


class NetconfCase(DaemonTest):
    """One daemon with NETCONF; users: admin (password), alice (tenant
    acme, password), bob (admin, public key)."""

    @classmethod
    def setUpClass(cls):
        cls.keydir = tempfile.mkdtemp(prefix="vnfm-nc-")
        key = paramiko.ECDSAKey.generate()
        cls.keyfile = os.path.join(cls.keydir, "bob")
        key.write_private_key_file(cls.keyfile)
        with open(cls.keyfile + ".pub", "w") as f:
            f.write("%s %s bob\n" % (key.get_name(), key.get_base64()))
        cls.ncport = free_port()
        cls.daemon_args = ("--netconf-listen", "127.0.0.1:%d" % cls.ncport,
                           "--netconf-user", "admin:" + ADMIN_PW,
                           "--netconf-user", "alice:%s:acme" % ALICE_PW,
                           "--netconf-user", "bob:%s.pub" % cls.keyfile,
                           "--enable-fault-injection")
        super().setUpClass()
        cls.d.ok("POST", "/v0/tenants/acme", {})

    @classmethod
    def tearDownClass(cls):
        if cls.d.proc.poll() is not None:  # say why before the data dir goes
            print("vnfmd exited with %s:\n%s" % (cls.d.proc.returncode, cls.d.log()[-8000:]))
        super().tearDownClass()
        subprocess.run(["rm", "-rf", cls.keydir])

    def connect(self, user="admin", password=ADMIN_PW, **kw):
        m = manager.connect(host="127.0.0.1", port=self.ncport, username=user, password=password,
                            hostkey_verify=False, look_for_keys=False, allow_agent=False,
                            timeout=30, **kw)
        self.addCleanup(lambda: m.connected and m.close_session())
        return m

    def edit(self, m, cfg, **kw):
        return m.edit_config(target="running", config=cfg, **kw)

    def rpc_error(self, fn, tag, path=None, etype="application"):
        with self.assertRaises(RPCError) as cm:
            fn()
        e = cm.exception
        self.assertEqual(e.tag, tag, e.xml if hasattr(e, "xml") else e)
        self.assertEqual(e.type, etype)
        self.assertTrue(e.message)
        if path is not None:
            self.assertEqual(e.path.strip() if e.path else e.path, path)
        return e

    def tenants(self):
        return sorted(t["id"] for t in self.d.get("/v0/tenants")[1]["tenants"])

    def rest_state(self):
        return (self.d.get("/v0/tenants")[1], self.d.get("/v0/vnfds")[1],
                self.d.get("/v0/deployments")[1])

    def notifications(self, m, want, timeout=20):
        """Notifications until one of type `want` (an ESC or vnfm event type)."""
        got, deadline = [], time.time() + timeout
        while time.time() < deadline:
            n = m.take_notification(block=True, timeout=1)
            if n is None:
                continue
            root = ET.fromstring(n.notification_xml)
            got.append(root)
            types = [e.text for e in root.iter() if e.tag.endswith("}type")]
            if want in types:
                return got
        self.fail("no %s notification; got %s" % (want, [ET.tostring(g) for g in got]))


class NetconfProtocolTest(NetconfCase):

    def test_01_yang_modules_validate(self):
        for mod in ("vnfm.yang", "esc-compat.yang"):
            r = subprocess.run(["yanglint", "-p", IETF, os.path.join(YANG_DIR, mod)],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_02_get_config_is_valid_data(self):
        m = self.connect()
        data = m.get_config("running").data_ele
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            f.write("".join(ET.tostring(c, encoding="unicode") for c in data))
        self.addCleanup(os.unlink, f.name)
        r = subprocess.run(["yanglint", "-t", "config", "-p", IETF,
                            os.path.join(YANG_DIR, "vnfm.yang"),
                            os.path.join(YANG_DIR, "esc-compat.yang"), f.name],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_03_hello_capabilities(self):
        m = self.connect()
        caps = list(m.server_capabilities)
        for c in ("urn:ietf:params:netconf:base:1.0", "urn:ietf:params:netconf:base:1.1",
                  "urn:ietf:params:netconf:capability:writable-running:1.0",
                  "urn:ietf:params:netconf:capability:validate:1.1",
                  "urn:ietf:params:netconf:capability:notification:1.0",
                  "urn:ietf:params:netconf:capability:interleave:1.0"):
            self.assertIn(c, caps)
        self.assertTrue(any(c.startswith(VNFM + "?module=vnfm") for c in caps), caps)
        self.assertTrue(any(c.startswith(ESC + "?module=esc-compat") for c in caps), caps)
        self.assertGreater(int(m.session_id), 0)

    def test_04_table1_creates_tenant_and_table2_notification(self):
        sub = self.connect()
        sub.create_subscription()
        raw = Raw(self.ncport, "admin", ADMIN_PW, base11=False)
        try:
            reply = raw.rpc(TABLE1)
        finally:
            raw.close()
        self.assertIn("<ok/>", reply)
        self.assertIn('message-id="1"', reply)
        status, doc, _ = self.d.get("/v0/tenants/mytenant")
        self.assertEqual(status, 200)
        self.assertEqual(doc["name"], "mytenant")
        got = self.notifications(sub, "CREATE_TENANT")
        esc = None
        for _ in range(5):
            for root in got:
                esc = root.find("{%s}escEvent" % ESC)
                if esc is not None:
                    break
            if esc is not None:
                break
            got = [ET.fromstring(sub.take_notification(timeout=5).notification_xml)]
        self.assertIsNotNone(esc, "no escEvent")
        # Table 2, lines 2-12
        self.assertEqual(got[-1].tag, "{%s}notification" % NOTIF)
        self.assertIsNotNone(got[-1].find("{%s}eventTime" % NOTIF))
        self.assertEqual(esc.findtext(q(ESC, "status")), "SUCCESS")
        self.assertEqual(esc.findtext(q(ESC, "status_message")), "Tenant successfully created")
        self.assertEqual(esc.findtext(q(ESC, "tenant")), "mytenant")
        self.assertIsNotNone(esc.find(q(ESC, "vm_source")))
        self.assertIsNotNone(esc.find(q(ESC, "vm_target")))
        self.assertEqual(esc.findtext(q(ESC, "event/type")), "CREATE_TENANT")
        # the same tenant through both modules
        data = self.connect().get_config("running", filter=(
            "subtree", '<esc_datamodel xmlns="%s"><tenants><tenant><name>mytenant</name>'
                       '</tenant></tenants></esc_datamodel>' % ESC)).data_ele
        self.assertEqual(data.findtext(q(ESC, "esc_datamodel/tenants/tenant/name")), "mytenant")
        # and removed again through the compatibility module
        self.edit(self.connect(), config(
            '<esc_datamodel xmlns="%s" xmlns:nc="%s"><tenants><tenant nc:operation="delete">'
            '<name>mytenant</name></tenant></tenants></esc_datamodel>' % (ESC, NC)))
        self.assertEqual(self.d.get("/v0/tenants/mytenant")[0], 404)

    def test_05_edit_semantics(self):
        m = self.connect()
        self.edit(m, tenant("t5", "<description>first</description>", op="create"))
        self.assertEqual(self.d.get("/v0/tenants/t5")[1]["description"], "first")
        before = self.rest_state()
        e = self.rpc_error(lambda: self.edit(m, tenant("t5", op="create")), "data-exists",
                           "/vnfm:vnfm/tenants/tenant[id='t5']")
        self.assertIn("already exists", e.message)
        self.assertEqual(self.rest_state(), before)
        # merge changes what it names
        self.edit(m, tenant("t5", "<name>Tenant five</name>"))
        t = self.d.get("/v0/tenants/t5")[1]
        self.assertEqual((t["name"], t["description"]), ("Tenant five", "first"))
        # a leaf's delete resets it
        self.edit(m, tenant("t5", '<description nc:operation="delete"/>'))
        self.assertEqual(self.d.get("/v0/tenants/t5")[1]["description"], "")
        # replace: what the entry leaves out goes back to its default
        self.edit(m, tenant("t5", "<enabled>false</enabled>", op="replace"))
        t = self.d.get("/v0/tenants/t5")[1]
        self.assertEqual((t["name"], t["enabled"]), ("t5", False))
        # remove of a missing one is fine, delete is not
        self.edit(m, tenant("nobody", op="remove"))
        before = self.rest_state()
        self.rpc_error(lambda: self.edit(m, tenant("nobody", op="delete")), "data-missing",
                       "/vnfm:vnfm/tenants/tenant[id='nobody']")
        self.assertEqual(self.rest_state(), before)
        self.edit(m, tenant("t5", op="delete"))
        self.assertEqual(self.d.get("/v0/tenants/t5")[0], 404)
        # default-operation none: a missing entry cannot take leaf changes
        self.rpc_error(lambda: self.edit(m, tenant("t6", '<name nc:operation="merge">x</name>'),
                                         default_operation="none"), "data-missing")
        self.assertNotIn("t6", self.tenants())

    def test_06_edit_stops_at_first_error(self):
        m = self.connect()
        body = vnfm("<tenants><tenant><id>t7a</id></tenant>"
                    "<tenant nc:operation=\"delete\"><id>t7-missing</id></tenant>"
                    "<tenant><id>t7b</id></tenant></tenants>")
        self.rpc_error(lambda: self.edit(m, body), "data-missing")
        self.assertIn("t7a", self.tenants())  # applied before the error: not all-or-nothing
        self.assertNotIn("t7b", self.tenants())
        self.edit(m, tenant("t7a", op="delete"))

    def test_07_errors_are_proper_rpc_errors(self):
        m = self.connect()
        before = self.rest_state()
        e = self.rpc_error(lambda: self.edit(m, tenant("t8", "<colour>red</colour>")),
                           "unknown-element", "/vnfm:vnfm/tenants/tenant[id='t8']/colour")
        self.assertIn("<bad-element>colour</bad-element>", e.info)
        self.rpc_error(lambda: self.edit(m, tenant("t8", "<enabled>maybe</enabled>")),
                       "invalid-value", "/vnfm:vnfm/tenants/tenant[id='t8']/enabled")
        self.rpc_error(lambda: self.edit(m, tenant("bad id!")), "invalid-value")
        self.rpc_error(lambda: self.edit(m, vnfm("<tenants><tenant><name>x</name></tenant>"
                                                 "</tenants>")), "missing-element")
        self.rpc_error(lambda: self.edit(m, config('<nothing xmlns="urn:example:nothing"/>')),
                       "unknown-namespace")
        self.rpc_error(lambda: self.edit(m, tenant("t8", "<created>2020-01-01T00:00:00Z"
                                                          "</created>")), "invalid-value")
        self.assertEqual(self.rest_state(), before)

    def test_08_malformed_xml(self):
        raw = Raw(self.ncport, "admin", ADMIN_PW)
        try:
            reply = raw.rpc("this is not XML <<<")
            self.assertIn("<error-tag>malformed-message</error-tag>", reply)
            self.assertIn("<error-type>rpc</error-type>", reply)
            # XML that breaks off after the envelope is malformed too (nc_guard.c)
            reply = raw.rpc('<rpc message-id="7" xmlns="%s"><get-config><source><running/>'
                            '</source></get-conf' % NC)
            self.assertIn("<error-tag>malformed-message</error-tag>", reply)
            # two elements of one name in no namespace made libyang 2.1.30
            # dereference NULL and the manager die (found by fuzz_netconf)
            for cfg in ('<a xmlns=""/><a xmlns=""/>', '<f xmlns=""><id></id><id>'):
                reply = raw.rpc('<rpc message-id="71" xmlns="%s"><edit-config><target><running/>'
                                '</target><config>%s</config></edit-config></rpc>' % (NC, cfg))
                self.assertIn("<error-tag>malformed-message</error-tag>", reply)
                self.assertIsNone(self.d.proc.poll())
            reply = raw.rpc('<rpc message-id="8" xmlns="%s"><frobnicate/></rpc>' % NC)
            self.assertIn("<rpc-error>", reply)
            self.assertIn("frobnicate", reply)
            # the session goes on
            self.assertIn("<data", raw.rpc('<rpc message-id="9" xmlns="%s"><get-config><source>'
                                           '<running/></source></get-config></rpc>' % NC))
        finally:
            raw.close()

    def test_09_validate(self):
        m = self.connect()
        self.assertTrue(m.validate(source="running").ok)
        good = to_ele(tenant("t9"))
        self.assertTrue(m.validate(source=good).ok)
        self.assertNotIn("t9", self.tenants())
        self.rpc_error(lambda: m.validate(source=to_ele(tenant("t9", "<enabled>x</enabled>"))),
                       "invalid-value")
        self.edit(m, tenant("t9"), test_option="test-only")
        self.assertNotIn("t9", self.tenants())

    def test_10_lock(self):
        a, b = self.connect(), self.connect()
        a.lock("running")
        e = self.rpc_error(lambda: b.lock("running"), "lock-denied", etype="protocol")
        self.assertIn("<session-id>%s</session-id>" % a.session_id, e.info)
        before = self.rest_state()
        self.rpc_error(lambda: self.edit(b, tenant("t10")), "in-use", etype="protocol")
        self.assertEqual(self.rest_state(), before)
        self.edit(a, tenant("t10"))  # the holder may edit
        self.rpc_error(lambda: b.unlock("running"), "operation-failed", etype="protocol")
        a.unlock("running")
        self.edit(b, tenant("t10", op="delete"))
        # a lock ends with its session
        a.lock("running")
        a.close_session()
        wait_for(lambda: self._lock_free(b), 10, 0.2, "lock released")

    def _lock_free(self, m):
        try:
            m.lock("running")
            m.unlock("running")
            return True
        except RPCError:
            return False

    def test_10b_lock_stops_rest_and_sol003(self):
        """RFC 6241 7.5: a lock excludes every other management session, not
        only NETCONF ones. Refused with 409 `locked` naming the session."""
        a = self.connect()
        tok = self.d.ok("POST", "/v0/tenants/acme/tokens")["token"]
        a.lock("running")
        before = self.rest_state()
        for who in ("admin", tok):
            status, doc, _ = self.d.post("/v0/tenants/locked1", {}, token=who)
            self.assertEqual((status, doc["error"], doc["session"]),
                             (409, "locked", int(a.session_id)), doc)
            self.assertIn("NETCONF session %s (user admin)" % a.session_id, doc["message"])
        status, doc, _ = self.d.request("POST", "/vnflcm/v1/vnf_instances", {"vnfdId": "x"},
                                        headers={"Version": "1.3.0"})
        self.assertEqual(status, 409, doc)
        self.assertIn("NETCONF session %s" % a.session_id, doc["detail"])
        self.assertEqual(self.rest_state(), before)
        # reads go on; the holder edits; a tenant user may not lock at all
        self.assertEqual(self.d.get("/v0/tenants")[0], 200)
        self.edit(a, tenant("locked2"))
        self.rpc_error(lambda: self.connect("alice", ALICE_PW).lock("running"), "access-denied",
                       etype="protocol")
        a.unlock("running")
        self.d.ok("POST", "/v0/tenants/locked1", {})
        # the lock ends with its session: REST writes again at once
        a.lock("running")
        self.assertEqual(self.d.request("DELETE", "/v0/tenants/locked1")[0], 409)
        a.close_session()
        wait_for(lambda: self.d.request("DELETE", "/v0/tenants/locked1")[0] == 204, 10, 0.1,
                 "the lock released with its session")
        self.d.ok("DELETE", "/v0/tenants/locked2")

    def test_10c_error_options(self):
        """stop-on-error keeps what came before the error (RFC 6241 7.2),
        continue-on-error applies every change that can be, and
        rollback-on-error (:rollback-on-error) applies all or nothing."""
        m = self.connect()
        self.assertIn("urn:ietf:params:netconf:capability:rollback-on-error:1.0",
                      list(m.server_capabilities))
        desc = '{"vdus":[{"id":"w","command":["vnf-demo","--listen","{{ip}}:8080"]}]}'

        def body(tag):  # a tenant, a VNFD, then a deployment whose VNFD does not exist
            return vnfm("<tenants><tenant><id>%s</id></tenant></tenants>"
                        "<vnfds><vnfd><id>%s-v</id><descriptor>%s</descriptor></vnfd></vnfds>"
                        "<deployments><deployment><name>%s-d</name><vnfd>nope</vnfd>"
                        "</deployment></deployments>" % (tag, tag, desc, tag))
        before = self.rest_state()
        self.rpc_error(lambda: self.edit(m, body("eo1"), error_option="rollback-on-error"),
                       "data-missing", "/vnfm:vnfm/deployments/deployment[name='eo1-d']/vnfd")
        self.assertEqual(self.rest_state(), before)  # the tenant and the VNFD are gone too
        self.rpc_error(lambda: self.edit(m, body("eo2")), "data-missing")  # stop-on-error
        self.assertIn("eo2", self.tenants())
        self.assertEqual(self.d.get("/v0/vnfds/eo2-v")[0], 200)
        # continue-on-error: the failing change is reported, the others applied
        body3 = vnfm("<tenants><tenant><id>eo3a</id></tenant>"
                     "<tenant nc:operation=\"delete\"><id>eo3-missing</id></tenant>"
                     "<tenant><id>eo3b</id></tenant></tenants>")
        self.rpc_error(lambda: self.edit(m, body3, error_option="continue-on-error"),
                       "data-missing", "/vnfm:vnfm/tenants/tenant[id='eo3-missing']")
        self.assertTrue({"eo3a", "eo3b"} <= set(self.tenants()))
        # and rollback-on-error that succeeds applies everything
        self.edit(m, vnfm("<tenants><tenant><id>eo4</id></tenant>"
                          '<tenant nc:operation="delete"><id>eo2</id></tenant>'
                          '<tenant nc:operation="delete"><id>eo3a</id></tenant>'
                          '<tenant nc:operation="delete"><id>eo3b</id></tenant></tenants>'
                          '<vnfds><vnfd nc:operation="delete"><id>eo2-v</id></vnfd></vnfds>'),
                  error_option="rollback-on-error")
        self.assertEqual([t for t in self.tenants() if t.startswith("eo")], ["eo4"])
        self.assertEqual(self.d.get("/v0/vnfds/eo2-v")[0], 404)
        self.edit(m, tenant("eo4", op="delete"))

    def test_11_kill_and_close_session(self):
        admin, alice = self.connect(), self.connect("alice", ALICE_PW)
        self.rpc_error(lambda: admin.kill_session(admin.session_id), "invalid-value",
                       etype="protocol")
        self.rpc_error(lambda: alice.kill_session(admin.session_id), "access-denied",
                       etype="protocol")
        self.rpc_error(lambda: admin.kill_session("99999"), "invalid-value", etype="protocol")
        self.assertTrue(admin.kill_session(alice.session_id).ok)
        wait_for(lambda: not alice.connected, 10, 0.1, "killed session to close")
        other = self.connect()
        self.assertTrue(other.close_session().ok)

    def test_12_authentication(self):
        with self.assertRaises(AuthenticationError):
            self.connect(password="wrong-password")
        with self.assertRaises(AuthenticationError):
            self.connect("nobody", "whatever")
        bob = manager.connect(host="127.0.0.1", port=self.ncport, username="bob",
                              key_filename=self.keyfile, hostkey_verify=False,
                              look_for_keys=False, allow_agent=False, timeout=30)
        try:
            self.assertIn("default", bob.get_config("running").xml)
        finally:
            bob.close_session()
        with self.assertRaises(AuthenticationError):
            self.connect("bob", "a-password")
        # the host key was generated into the data dir, private
        st = os.stat(os.path.join(self.d.dir, "netconf_host_key"))
        self.assertEqual(st.st_mode & 0o777, 0o600)

    def test_13_tenant_user_is_scoped(self):
        alice = self.connect("alice", ALICE_PW)
        data = alice.get_config("running").data_ele
        ids = [t.text for t in data.findall(q(VNFM, "vnfm/tenants/tenant/id"))]
        self.assertEqual(ids, ["acme"])
        before = self.rest_state()
        self.rpc_error(lambda: self.edit(alice, tenant("default", "<description>x</description>")),
                       "access-denied")
        self.rpc_error(lambda: self.edit(alice, tenant("t13")), "access-denied")
        self.assertEqual(self.rest_state(), before)
        # her own tenant's leaves are admin-only too, as in REST (PUT /v0/tenants is admin)
        self.rpc_error(lambda: self.edit(alice, tenant("acme", "<description>x</description>")),
                       "access-denied")
        # she sees only her tenant's events
        alice.create_subscription()
        self.edit(self.connect(), tenant("t13"))
        self.edit(self.connect(), tenant("t13", op="delete"))
        self.assertIsNone(alice.take_notification(timeout=2))

    def test_14_replay(self):
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        self.edit(self.connect(), tenant("t14"))
        m = self.connect()
        m.create_subscription(start_time=since)
        types = []
        while True:
            n = m.take_notification(timeout=10)
            self.assertIsNotNone(n, "no replayComplete; got %s" % types)
            root = ET.fromstring(n.notification_xml)
            if root.find("{urn:ietf:params:xml:ns:netmod:notification}replayComplete") is not None:
                break
            types.append(root.findtext(q(VNFM, "vnfm-event/object")))
        self.assertIn("tenant/t14", types)
        self.edit(self.connect(), tenant("t14", op="delete"))
        live = self.notifications(m, "DELETE_TENANT")
        self.assertTrue(live)
        self.rpc_error(lambda: m.create_subscription(), "in-use", etype="protocol")

    def test_15_filter(self):
        m = self.connect()
        data = m.get(filter=("subtree", '<vnfm xmlns="%s"><sites><site><id>local</id>'
                                        '<capacity/></site></sites></vnfm>' % VNFM)).data_ele
        site = data.find(q(VNFM, "vnfm/sites/site"))
        self.assertEqual(site.findtext(q(VNFM, "id")), "local")
        self.assertEqual(site.findtext(q(VNFM, "capacity/vcpu")), "8.0")
        self.assertIsNone(site.find(q(VNFM, "allocated")))
        self.assertIsNone(data.find(q(VNFM, "vnfm/tenants")))
        none = m.get_config("running", filter=("subtree", '<vnfm xmlns="%s"><tenants><tenant>'
                                                          '<id>nope</id></tenant></tenants></vnfm>'
                                               % VNFM)).data_ele
        self.assertEqual(len(none), 0)


class NetconfLifecycleTest(NetconfCase):

    def dep_state(self, name):
        status, doc, _ = self.d.get("/v0/deployments/" + name)
        return doc if status == 200 and not doc.get("operation") else None

    def test_names_per_tenant(self):
        """Names are per tenant (docs/SECURITY.md): acme (alice) and default each have a
        deployment ncn; alice sees and undeploys hers by that name, the admin sees both as
        TENANT:NAME."""
        self.d.onboard("demo-web")
        acme = self.d.ok("POST", "/v0/tenants/acme/tokens")["token"]
        for token in ("admin", acme):
            self.d.deploy("ncn", "demo-web", token=token)
        alice = self.connect("alice", ALICE_PW)
        cfg = alice.get_config("running").data_ele
        names = [e.text for e in cfg.findall(q(VNFM, "vnfm/deployments/deployment/name"))]
        self.assertEqual(names, ["ncn"])
        admin = self.connect().get_config("running").data_ele
        names = sorted(e.text for e in admin.findall(q(VNFM, "vnfm/deployments/deployment/name")))
        self.assertEqual(names, ["acme:ncn", "default:ncn"])
        self.edit(alice, vnfm('<deployments><deployment nc:operation="delete"><name>ncn</name>'
                              "</deployment></deployments>"))
        wait_for(lambda: self.d.get("/v0/deployments/ncn", token=acme)[0] == 404, 60, 0.2,
                 "acme's ncn undeployed")
        self.assertEqual(self.d.deployment("ncn")["tenant"], "default")

    def test_deploy_scale_undeploy_through_netconf(self):
        self.d.onboard("demo-web")
        m = self.connect()
        m.create_subscription()
        self.edit(m, vnfm("<deployments><deployment><name>nc1</name><vnfd>demo-web</vnfd>"
                          "<param><name>greeting</name><value>hi</value></param>"
                          "<param><name>threads</name><value>3</value></param>"
                          "<instances><vdu>web</vdu><count>1</count></instances>"
                          "</deployment></deployments>"))
        self.notifications(m, "DEPLOY_COMPLETED", 60)
        dep = wait_for(lambda: self.dep_state("nc1"), 60, 0.2, "deployment nc1")
        self.assertEqual((dep["status"], dep["params"]["threads"]), ("active", 3))
        data = m.get(filter=("subtree", '<vnfm xmlns="%s"><deployments/></vnfm>' % VNFM)).data_ele
        d = data.find(q(VNFM, "vnfm/deployments/deployment"))
        self.assertEqual(d.findtext(q(VNFM, "name")), "nc1")
        self.assertEqual(d.findtext(q(VNFM, "status")), "active")
        self.assertEqual(d.findtext(q(VNFM, "stage")), "monitoring")
        vis = d.findall(q(VNFM, "vi"))
        self.assertEqual(len(vis), 1)
        self.assertEqual(vis[0].findtext(q(VNFM, "state")), "running")
        self.assertEqual(vis[0].findtext(q(VNFM, "stage")), "monitoring")
        self.assertEqual(vis[0].findtext(q(VNFM, "ready")), "true")
        self.assertTrue(vis[0].findtext(q(VNFM, "ip")).startswith(self.d.subnet.rsplit(".", 1)[0]))
        # get-config has the configuration only
        cfg = m.get_config("running").data_ele
        d = cfg.find(q(VNFM, "vnfm/deployments/deployment"))
        self.assertIsNone(d.find(q(VNFM, "status")))
        self.assertEqual(d.findtext(q(VNFM, "vnfd")), "demo-web")
        self.assertIn('"id":"demo-web"', cfg.findtext(q(VNFM, "vnfm/vnfds/vnfd/descriptor")))
        # the VNF answers
        # a change a deployed VNF cannot take
        before = self.rest_state()
        self.rpc_error(lambda: self.edit(m, vnfm("<deployments><deployment><name>nc1</name>"
                                                 "<site>elsewhere</site></deployment>"
                                                 "</deployments>")),
                       "operation-not-supported",
                       "/vnfm:vnfm/deployments/deployment[name='nc1']/site")
        self.rpc_error(lambda: self.edit(m, vnfm("<deployments><deployment nc:operation=\"create\">"
                                                 "<name>nc1</name><vnfd>demo-web</vnfd>"
                                                 "</deployment></deployments>")), "data-exists")
        self.rpc_error(lambda: self.edit(m, vnfm("<deployments><deployment><name>nc2</name>"
                                                 "<vnfd>nope</vnfd></deployment></deployments>")),
                       "data-missing", "/vnfm:vnfm/deployments/deployment[name='nc2']/vnfd")
        self.assertEqual(self.rest_state(), before)
        # scale out by changing the count
        self.edit(m, vnfm("<deployments><deployment><name>nc1</name><instances><vdu>web</vdu>"
                          "<count>2</count></instances></deployment></deployments>"))
        wait_for(lambda: (self.dep_state("nc1") or {}).get("instances", {}).get("web") == 2 and
                 len(self.d.deployment("nc1")["vis"]) == 2 and self.dep_state("nc1"), 60, 0.2,
                 "scaled to 2")
        # undeploy
        self.edit(m, vnfm('<deployments><deployment nc:operation="delete"><name>nc1</name>'
                          '</deployment></deployments>'))
        self.notifications(m, "UNDEPLOY_COMPLETED", 60)
        wait_for(lambda: self.d.get("/v0/deployments/nc1")[0] == 404, 60, 0.2, "undeployed")
        # all or nothing: a VNFD and a deployment of it with typed parameters in one
        # edit, the deployment's parameters typed from the VNFD of the same edit
        with open(os.path.join(ROOT, "examples", "vnfds", "demo-web.json")) as f:
            v = json.load(f)
        v["id"] = "nc-web2"
        self.edit(m, vnfm("<vnfds><vnfd><id>nc-web2</id><descriptor>%s</descriptor></vnfd>"
                          "</vnfds><deployments><deployment><name>nc3</name><vnfd>nc-web2</vnfd>"
                          "<param><name>greeting</name><value>hi</value></param>"
                          "<param><name>threads</name><value>2</value></param></deployment>"
                          "</deployments>" % json.dumps(v).replace("&", "&amp;")
                          .replace("<", "&lt;")), error_option="rollback-on-error")
        dep = wait_for(lambda: self.dep_state("nc3"), 60, 0.2, "deployment nc3")
        self.assertEqual((dep["status"], dep["params"]["threads"]), ("active", 2))
        self.edit(m, vnfm('<deployments><deployment nc:operation="delete"><name>nc3</name>'
                          '</deployment></deployments>'))
        wait_for(lambda: self.d.get("/v0/deployments/nc3")[0] == 404, 60, 0.2, "undeployed")
        self.edit(m, vnfm('<vnfds><vnfd nc:operation="delete"><id>nc-web2</id></vnfd></vnfds>'))
        # VNFDs: create through NETCONF, immutable, delete
        desc = '{"vdus":[{"id":"w","command":["vnf-demo","--listen","{{ip}}:8080"]}]}'
        self.edit(m, vnfm("<vnfds><vnfd><id>nc-vnfd</id><descriptor>%s</descriptor></vnfd>"
                          "</vnfds>" % desc))
        self.assertEqual(self.d.get("/v0/vnfds/nc-vnfd")[0], 200)
        self.rpc_error(lambda: self.edit(m, vnfm("<vnfds><vnfd><id>nc-vnfd2</id><descriptor>"
                                                 "{\"vdus\":[]}</descriptor></vnfd></vnfds>")),
                       "invalid-value", "/vnfm:vnfm/vnfds/vnfd[id='nc-vnfd2']/descriptor")
        self.edit(m, vnfm('<vnfds><vnfd nc:operation="delete"><id>nc-vnfd</id></vnfd></vnfds>'))
        self.assertEqual(self.d.get("/v0/vnfds/nc-vnfd")[0], 404)

    def test_rules_decisions_and_metrics_in_operational_data(self):
        with open(os.path.join(ROOT, "examples", "vnfds", "demo-web.json")) as f:
            v = json.load(f)
        v["id"] = "nc-mon"
        v["monitoring"] = {"interval_s": 0.5, "metrics": {
            "health": {"probe": "tcp", "port": 8080}, "load": {"probe": "push"}}}
        v["rules"] = [{"name": "busy", "metric": "load", "op": ">", "threshold": 10,
                       "stage": "overloaded", "actions": [{"action": "log"}]}]
        self.d.onboard(v)
        self.d.deploy("ncm1", "nc-mon")
        # a lock of running stops configuration changes, not values pushed by
        # VNFs nor the rules engine's own decisions
        m = self.connect()
        m.lock("running")
        self.d.ok("POST", "/v0/deployments/ncm1/metrics", {"values": {"load": 50}},
                  expect=(202,))
        wait_for(lambda: [x for x in self.d.get("/v0/decisions?deployment=ncm1")[1]
                          ["decisions"] if x["state"] == "completed"], 20, 0.2, "a decision")
        self.assertEqual(self.d.request("PUT", "/v0/deployments/ncm1/rules",
                                        {"rules": []})[0], 409)
        m.unlock("running")
        data = m.get(filter=("subtree", '<vnfm xmlns="%s"/>' % VNFM)).data_ele
        rule = data.find(q(VNFM, "vnfm/rules/rule"))
        self.assertEqual(rule.findtext(q(VNFM, "name")), "ncm1/busy")
        self.assertEqual(rule.findtext(q(VNFM, "condition")), "load last > 10 (1 occurrence)")
        self.assertEqual(rule.findtext(q(VNFM, "stage")), "overloaded")
        dec = data.find(q(VNFM, "vnfm/decisions/decision"))
        self.assertEqual(dec.findtext(q(VNFM, "object")), "deployment/ncm1")
        self.assertEqual(dec.findtext(q(VNFM, "action")), "log completed")
        self.assertIn("load last > 10", dec.findtext(q(VNFM, "reason")))
        metrics = {e.findtext(q(VNFM, "name")): e for e in
                   data.findall(q(VNFM, "vnfm/deployments/deployment/vi/metric"))}
        self.assertEqual(metrics["load"].findtext(q(VNFM, "value")), "50.0")
        def health_up():
            d = m.get(filter=("subtree", '<vnfm xmlns="%s"><deployments/></vnfm>' % VNFM)).data_ele
            return [e.findtext(q(VNFM, "up")) for e in
                    d.findall(q(VNFM, "vnfm/deployments/deployment/vi/metric"))
                    if e.findtext(q(VNFM, "name")) == "health"] == ["true"]
        wait_for(health_up, 10, 0.2, "a health probe")
        self.d.ok("PUT", "/v0/deployments/ncm1/rules", {"rules": []})


class NetconfConfigTest(unittest.TestCase):

    def test_users_from_config_file_and_stop_with_open_sessions(self):
        port = free_port()
        d = Daemon()
        path = os.path.join(d.dir, "vnfmd.conf")
        with open(path, "w") as f:
            f.write("netconf-listen = 127.0.0.1:%d\n" % port)
            f.write("netconf-user = carol:carol-secret\n")
            f.write("netconf-user = dave:dave-secret:default\n")
        d.extra = ["--config", path]
        d.start()
        try:
            m = manager.connect(host="127.0.0.1", port=port, username="dave",
                                password="dave-secret", hostkey_verify=False,
                                look_for_keys=False, allow_agent=False, timeout=30)
            m.create_subscription()
            with self.assertRaises(RPCError):  # a tenant user
                m.kill_session("1")
            # SIGTERM with a subscribed session open: a clean, sanitizer-clean stop
            d.stop()
        finally:
            d.cleanup()

    def test_start_up_errors(self):
        for args, msg in ((["--netconf-user", "nocolon"], "NAME:PASSWORD_OR_PUBKEY_FILE"),
                          (["--netconf-user", "x:/nonexistent/key.pub"], "public key")):
            d = Daemon("--netconf-listen", "127.0.0.1:%d" % free_port(), *args)
            try:
                r = subprocess.run(d.args(), capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(msg, r.stderr)
            finally:
                self.purge_site(d)

    @staticmethod
    def purge_site(d):
        """A daemon that failed to start has made its site's bridge already."""
        gw = d.subnet.rsplit(".", 1)[0] + ".1/"
        out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            name = line.split()[1]
            if gw in line and name.startswith("vb"):
                d.tag = name[2:-1]
                d.purge_host()
        d.forget()


class NetconfHealthTest(unittest.TestCase):

    def test_netconf_thread_down_is_5020(self):
        port = free_port()
        d = Daemon("--netconf-listen", "127.0.0.1:%d" % port, "--netconf-user",
                   "admin:" + ADMIN_PW, "--enable-fault-injection").start()
        try:
            doc = d.get("/v0/health", token=None)[1]
            self.assertEqual((doc["code"], doc["services"]["netconf"]), (2000, "running"))
            d.ok("POST", "/v0/debug/faults", {"fault": "netconf-thread"})
            doc = wait_for(lambda: (lambda h: h["code"] == 5020 and h)(
                d.get("/v0/health", token=None)[1]), 15, 0.2, "health 5020")
            self.assertEqual(doc["message"], "VNF manager service, NETCONF API not running.")
            self.assertEqual(doc["services"]["netconf"], "not running")
            self.assertEqual(d.get("/v0/health", token=None)[0], 503)
            with self.assertRaises(OSError):  # really not accepting
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
        finally:
            d.cleanup()

    def test_netconf_disabled(self):
        d = Daemon("--enable-fault-injection").start()
        try:
            doc = d.get("/v0/health", token=None)[1]
            self.assertEqual((doc["code"], doc["services"]["netconf"]), (2000, "disabled"))
            self.assertEqual(d.post("/v0/debug/faults", {"fault": "netconf-thread"})[0], 409)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
