"""XML on the native REST API (F3, seed para 46-47): the request of Table 3
sent with curl exactly as written (plus our token) creates the tenant and
answers like Table 4 with the ESC-* headers; the relative Callback path
receives the result; every /v0 resource lists, shows and creates in XML
with the same validation (the same field named) as in JSON; malformed XML
is a 400."""
import http.server
import json
import subprocess
import threading
import unittest
import xml.etree.ElementTree as ET

from vnfm import Daemon, DaemonTest, free_port, wait_for
from test_deploy import demo

TABLE3_BODY = """<?xml version="1.0" encoding="UTF-8"?>
<tenant xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
<name>xyz</name>
<enabled>true</enabled>
<description>A description...</description>
</tenant>
"""


class Listener:
    """A real HTTP server that records the POSTs it gets."""

    def __init__(self):
        self.got = []
        got = self.got

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                got.append((self.path, dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.srv = http.server.HTTPServer(("127.0.0.1", self.port), Hook)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def curl(d, method, path, body=None, headers=(), token=True):
    """curl as a client would run it; returns (status, headers dict, body)."""
    args = ["curl", "-sS", "-i", "-X", method, d.url + path]
    if token:
        args += ["-H", "Authorization: Bearer " + d.token]
    for h in headers:
        args += ["-H", h]
    if body is not None:
        args += ["--data-binary", body]
    out = subprocess.run(args, capture_output=True, timeout=60).stdout.decode()
    head, _, text = out.partition("\r\n\r\n")
    while head.startswith("HTTP/1.1 100"):
        head, _, text = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, text


def to_xml(name, value):
    """A Python value as our generic XML (docs/API.md "XML")."""
    if isinstance(value, dict):
        return "<%s>%s</%s>" % (name, "".join(to_xml(k, v) for k, v in value.items()), name)
    if isinstance(value, list):
        item = name[:-1] if name.endswith("s") else "item"
        return "<%s>%s</%s>" % (name, "".join(to_xml(item, v) for v in value), name)
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<%s>%s</%s>" % (name, text, name)


XML = ["Content-Type: application/xml", "Accept: application/xml"]


class XmlTest(DaemonTest):

    @classmethod
    def setUpClass(cls):
        cls.hook = Listener()
        cls.d = Daemon("--callback-base", "http://127.0.0.1:%d" % cls.hook.port).start()

    @classmethod
    def tearDownClass(cls):
        cls.hook.close()
        cls.d.cleanup()

    def xml_ok(self, method, path, body=None, expect=200, headers=XML):
        status, hdrs, text = curl(self.d, method, path, body, headers)
        self.assertEqual(status, expect, text)
        self.assertTrue(hdrs["content-type"].startswith("application/xml"), hdrs)
        self.assertEqual(hdrs["esc-status-code"], "202" if expect == 202 else "200")
        return hdrs, ET.fromstring(text)

    def test_table3_as_written(self):
        status, hdrs, text = curl(self.d, "POST", "/v0/tenants/123", TABLE3_BODY, [
            "Host: client.host.com", "Content-Type: application/xml", "Accept: application/xml",
            "Client-Transaction-Id: 123456", "Callback:/createtenantcallback"])
        self.assertEqual(status, 201, text)
        # Table 4: content type, ESC headers, the tenant with both ids
        self.assertEqual(hdrs["content-type"], "application/xml; charset=UTF-8")
        self.assertEqual(hdrs["esc-transaction-id"], "123456")
        self.assertEqual(hdrs["esc-status-code"], "200")
        self.assertTrue(hdrs["esc-status-message"].startswith("Success"))
        self.assertIn("date", hdrs)
        self.assertTrue(text.startswith('<?xml version="1.0" encoding="UTF-8"?>'))
        root = ET.fromstring(text)
        self.assertEqual(root.tag, "tenant")  # no namespace, as in Table 4
        self.assertEqual([c.tag for c in root][:5], ["external_tenant_id", "internal_tenant_id",
                                                     "name", "enabled", "description"])
        self.assertEqual(root.findtext("name"), "xyz")
        self.assertEqual(root.findtext("enabled"), "true")
        self.assertEqual(root.findtext("description"), "A description...")
        self.assertRegex(root.findtext("external_tenant_id"), r"^\d{15}$")
        self.assertRegex(root.findtext("internal_tenant_id"), r"^\d{15}$")
        # the Callback path received the result, in XML, with the transaction id
        wait_for(lambda: [g for g in self.hook.got if g[0] == "/createtenantcallback"], 10,
                 what="Table 3 callback")
        path, cb_hdrs, cb_body = [g for g in self.hook.got if g[0] == "/createtenantcallback"][0]
        self.assertEqual(cb_hdrs["ESC-Transaction-Id"], "123456")
        self.assertEqual(cb_hdrs["ESC-Status-Code"], "200")
        self.assertTrue(cb_hdrs["Content-Type"].startswith("application/xml"))
        self.assertEqual(ET.fromstring(cb_body).findtext("name"), "xyz")
        # the same tenant in JSON
        t = self.d.get("/v0/tenants/123")[1]
        self.assertEqual((t["name"], t["enabled"]), ("xyz", True))
        self.assertEqual(t["external_tenant_id"], root.findtext("external_tenant_id"))
        # again: 409, in XML
        status, hdrs, text = curl(self.d, "POST", "/v0/tenants/123", TABLE3_BODY, XML)
        self.assertEqual(status, 409)
        self.assertEqual(hdrs["esc-status-code"], "409")
        self.assertEqual(ET.fromstring(text).findtext("error"), "conflict")
        self.d.ok("DELETE", "/v0/tenants/123")

    def test_reads_in_xml(self):
        reads = [("/v0/version", "version"), ("/v0/health", "health"),
                 ("/v0/tenants", "tenants"), ("/v0/tenants/default", "tenant"),
                 ("/v0/tokens", "tokens"), ("/v0/vnfds", "vnfds"), ("/v0/sites", "sites"),
                 ("/v0/sites/local", "site"), ("/v0/deployments", "deployments"),
                 ("/v0/operations", "operations"), ("/v0/logs?limit=3", "logs")]
        for path, root in reads:
            with self.subTest(path=path):
                _, doc = self.xml_ok("GET", path, headers=["Accept: application/xml"])
                self.assertEqual(doc.tag, root)
        _, doc = self.xml_ok("GET", "/v0/tenants", headers=["Accept: application/xml"])
        self.assertIn("default", [t.findtext("id") for t in doc.findall("tenant")])
        # JSON stays the default, and wins when preferred
        status, hdrs, _ = curl(self.d, "GET", "/v0/version", headers=[
            "Accept: application/json, application/xml"])
        self.assertEqual(hdrs["content-type"], "application/json")

    def test_writes_in_xml_with_the_json_validation(self):
        # tenant, token, site: created and changed in XML
        _, t = self.xml_ok("POST", "/v0/tenants", "<tenant><id>acme</id><name>Acme</name>"
                           "</tenant>", expect=201)
        self.assertEqual(t.findtext("name"), "Acme")
        _, t = self.xml_ok("PUT", "/v0/tenants/acme", "<tenant><enabled>false</enabled></tenant>")
        self.assertEqual(t.findtext("enabled"), "false")
        _, tok = self.xml_ok("POST", "/v0/tenants/acme/tokens",
                             "<token><description>ci</description></token>", expect=201)
        self.assertEqual(tok.tag, "token")
        self.assertTrue(tok.findtext("token"))
        _, site = self.xml_ok("PUT", "/v0/sites/local",
                              "<site><capacity><vcpu>8</vcpu><memory_mb>4096</memory_mb>"
                              "</capacity></site>")
        self.assertEqual(site.findtext("capacity/vcpu"), "8")
        self.d.ok("DELETE", "/v0/tokens/" + tok.findtext("id"))
        self.d.ok("DELETE", "/v0/tenants/acme")

        # the same bad bodies give the same errors, naming the same field
        bad = [("/v0/tenants", {"id": "x", "enabled": "maybe"}, "tenant"),
               ("/v0/tenants", {"id": "x", "colour": "red"}, "tenant"),
               ("/v0/tenants", {"name": "no id"}, "tenant"),
               ("/v0/deployments", {"name": "d1", "vnfd": "demo-x", "instances": {"web": 99}},
                "deployment"),
               ("/v0/vnfds", {"id": "v", "vdus": [{"id": "a", "command": ["x"], "vcpu": 99}]},
                "vnfd")]
        for path, body, root in bad:
            with self.subTest(body=body):
                j = self.d.post(path, body)
                status, hdrs, text = curl(self.d, "POST", path, to_xml(root, body), XML)
                x = ET.fromstring(text)
                self.assertEqual(status, j[0])
                self.assertEqual(x.findtext("error"), j[1]["error"])
                self.assertEqual(x.findtext("field"), j[1]["field"])
                self.assertEqual(x.findtext("message"), j[1]["message"])
                self.assertEqual(hdrs["esc-status-code"], str(j[0]))

    def test_malformed_xml_is_400(self):
        for body in ["<tenant><id>x</id>", "<tenant><id>x</tenant>", "not xml at all",
                     '<!DOCTYPE t [<!ENTITY e "x">]><tenant><id>&e;</id></tenant>']:
            with self.subTest(body=body):
                status, hdrs, text = curl(self.d, "POST", "/v0/tenants", body, XML)
                self.assertEqual(status, 400, text)
                self.assertEqual(ET.fromstring(text).findtext("error"), "bad-xml")
        status, _, text = curl(self.d, "POST", "/v0/tenants", "{}",
                               ["Content-Type: text/plain"])
        self.assertEqual(status, 415, text)

    def test_vnfd_and_deploy_in_xml(self):
        v = demo("demo-xml")
        vdu = v["vdus"][0]
        xml_vnfd = (
            '<vnfd><id>demo-xml</id><tags><tag>bbtest</tag></tags>'
            '<credentials><username>operator</username></credentials>'
            '<params><greeting><type>string</type><default>hello</default></greeting></params>'
            '<vdus><vdu><id>web</id><command><item>vnf-demo</item><item>--listen</item>'
            '<item>{{ip}}:8080</item><item>--config</item><item>{{day0_dir}}/demo.conf</item>'
            '</command><vcpu>0.2</vcpu><memory_mb>32</memory_mb>'
            '<scaling><min>1</min><max>3</max></scaling>'
            '<day0><file><path>demo.conf</path><template>greeting={{params.greeting}}\n'
            '</template></file></day0>'
            '<ready><tcp>8080</tcp><timeout_s>10</timeout_s></ready>'
            '<stop_grace_s>1</stop_grace_s></vdu></vdus>'
            '<retry><attempts>3</attempts><backoff_ms>50</backoff_ms></retry></vnfd>')
        _, rec = self.xml_ok("POST", "/v0/vnfds", xml_vnfd, expect=201)
        self.assertEqual(rec.findtext("id"), "demo-xml")
        stored = self.d.get("/v0/vnfds/demo-xml")[1]["descriptor"]
        self.assertEqual(stored["vdus"][0]["command"], vdu["command"])
        self.assertEqual(stored["vdus"][0]["vcpu"], 0.2)
        self.assertEqual(stored["vdus"][0]["ready"], {"tcp": 8080, "timeout_s": 10})
        _, one = self.xml_ok("GET", "/v0/vnfds/demo-xml", headers=["Accept: application/xml"])
        self.assertEqual(one.findtext("descriptor/vdus/vdu/ready/tcp"), "8080")

        # deploy in XML: 202 with the operation; its Callback gets it in XML
        hdrs, op = self.xml_ok("POST", "/v0/deployments",
                               "<deployment><name>x1</name><vnfd>demo-xml</vnfd>"
                               "<params><greeting>salut</greeting></params>"
                               "<instances><web>1</web></instances></deployment>",
                               expect=202,
                               headers=XML + ["Client-Transaction-Id: tx-9",
                                              "Callback: /deployed"])
        self.assertEqual(op.tag, "operation")
        self.assertEqual(hdrs["location"], "/v0/operations/" + op.findtext("id"))
        self.assertEqual(hdrs["esc-transaction-id"], "tx-9")
        done = self.d.wait_op(op.findtext("id"))
        self.assertEqual(done["state"], "completed", done)
        wait_for(lambda: [g for g in self.hook.got if g[0] == "/deployed"], 10, what="callback")
        _, cb_hdrs, cb_body = [g for g in self.hook.got if g[0] == "/deployed"][0]
        cb = ET.fromstring(cb_body)
        self.assertEqual((cb.tag, cb.findtext("state")), ("operation", "completed"))
        self.assertEqual(cb_hdrs["ESC-Transaction-Id"], "tx-9")
        _, dep = self.xml_ok("GET", "/v0/deployments/x1", headers=["Accept: application/xml"])
        self.assertEqual(dep.findtext("params/greeting"), "salut")
        self.assertEqual(dep.findtext("vis/vi/state"), "running")
        _, ops = self.xml_ok("GET", "/v0/operations?deployment=x1",
                             headers=["Accept: application/xml"])
        self.assertEqual(ops.findtext("operation/id"), op.findtext("id"))
        # undeploy with XML answers
        _, op = self.xml_ok("DELETE", "/v0/deployments/x1", expect=202,
                            headers=["Accept: application/xml"])
        self.assertEqual(self.d.wait_op(op.findtext("id"))["state"], "completed")
        status, _, text = curl(self.d, "GET", "/v0/deployments/x1",
                               headers=["Accept: application/xml"])
        self.assertEqual((status, ET.fromstring(text).findtext("error")), (404, "not-found"))
        self.d.ok("DELETE", "/v0/vnfds/demo-xml")

    def test_vnfd_with_monitoring_and_rules_in_xml(self):
        """A rule with one action is an array in XML too: the VNFD's rules
        and metrics are typed by their schemas (found by fuzz_body)."""
        xml_vnfd = (
            '<vnfd><id>demo-xml-rules</id><vdus><vdu><id>web</id><command><item>vnf-demo'
            '</item></command></vdu></vdus>'
            '<monitoring><interval_s>1</interval_s><metrics><load><probe>push</probe></load>'
            '</metrics></monitoring>'
            '<rules><rule><name>busy</name><metric>load</metric><op>&gt;</op>'
            '<threshold>10</threshold><actions><action><action>log</action></action></actions>'
            '</rule></rules></vnfd>')
        self.xml_ok("POST", "/v0/vnfds", xml_vnfd, expect=201)
        rules = self.d.get("/v0/vnfds/demo-xml-rules")[1]["descriptor"]["rules"]
        self.assertEqual(rules[0]["actions"], [{"action": "log"}])
        self.assertEqual(rules[0]["threshold"], 10)
        self.d.ok("DELETE", "/v0/vnfds/demo-xml-rules")


if __name__ == "__main__":
    unittest.main()
