/* SNMP GET (RFC 3416) of one numeric OID with net-snmp's single-session
 * API, which is safe to use from several threads: a blocking probe, run on
 * the monitoring pool. SNMPv1 and v2c with a community. The value is the
 * variable as a number; an OCTET STRING is parsed as one (the UCD load
 * averages, .1.3.6.1.4.1.2021.10.1.3.N, are strings such as "0.15"). */
#include "monitor/probes/probe.h"
#include "util/net4.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* No MIBs, no configuration files, no persistent state, no log on stderr:
 * the probe speaks numeric OIDs only. */
static void setup(void)
{
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIBDIRS, "");
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    snmp_disable_log();
    init_snmp("vnfmd");
}

/* ".1.3.6.1..." -> oid array; the number of components, or -1. */
static int parse_oid(const char *text, oid *out, size_t max)
{
    const char *p = text[0] == '.' ? text + 1 : text;
    size_t n = 0;

    while (*p) {
        char *end;
        unsigned long v;

        if (*p < '0' || *p > '9' || n == max)
            return -1;
        errno = 0;
        v = strtoul(p, &end, 10);
        if (errno || v > 0xffffffffUL || (*end && *end != '.') || (*end == '.' && !end[1]))
            return -1;
        out[n++] = (oid)v;
        p = *end ? end + 1 : end;
    }
    return n >= 2 ? (int)n : -1;
}

static int snmp_validate(const json_t *spec, const char *field, struct jv_error *err)
{
    oid o[MAX_OID_LEN];
    const char *text = jv_str(spec, "oid", NULL);
    const char *version = jv_str(spec, "version", "2c");
    char sub[192];

    snprintf(sub, sizeof(sub), "%s.oid", field);
    if (!text) {
        jv_fail(err, "missing-field", sub, "an SNMP probe needs a numeric OID");
        return -EINVAL;
    }
    if (parse_oid(text, o, MAX_OID_LEN) < 0) {
        jv_fail(err, "invalid-value", sub, "'%s' is not a numeric OID such as .1.3.6.1.2.1.1.3.0",
                text);
        return -EINVAL;
    }
    snprintf(sub, sizeof(sub), "%s.version", field);
    if (strcmp(version, "1") != 0 && strcmp(version, "2c") != 0) {
        jv_fail(err, "invalid-value", sub, "must be \"1\" or \"2c\"");
        return -EINVAL;
    }
    return 0;
}

/* The variable as a number. */
static bool var_number(const struct variable_list *v, double *out)
{
    char text[64];

    switch (v->type) {
    case ASN_INTEGER:
        *out = (double)*v->val.integer;
        return true;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
        *out = (double)(unsigned long)*v->val.integer;
        return true;
    case ASN_COUNTER64:
        *out = (double)v->val.counter64->high * 4294967296.0 + (double)v->val.counter64->low;
        return true;
    case ASN_OCTET_STR:
        snprintf(text, sizeof(text), "%.*s", (int)v->val_len, (const char *)v->val.string);
        return probe_parse_number(text, out);
    default:
        return false;
    }
}

static void *open_session(struct probe_call *call)
{
    const json_t *spec = call->t->spec;
    char peer[64], ip[IP4_STR_MAX];
    netsnmp_session cfg;

    snmp_sess_init(&cfg);
    snprintf(peer, sizeof(peer), "udp:%s:%lld", ip4_fmt(call->t->ip, ip),
             jv_int(spec, "port", 161));
    cfg.peername = peer;
    cfg.version =
        strcmp(jv_str(spec, "version", "2c"), "1") == 0 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
    cfg.community = (u_char *)jv_str(spec, "community", "public");
    cfg.community_len = strlen((const char *)cfg.community);
    cfg.timeout = (long)call->timeout_ms * 1000;
    cfg.retries = 0;
    return snmp_sess_open(&cfg);
}

static void snmp_run(struct probe_call *call)
{
    oid name[MAX_OID_LEN];
    int n = parse_oid(jv_str(call->t->spec, "oid", ""), name, MAX_OID_LEN);
    netsnmp_pdu *req, *resp = NULL;
    void *sess;
    int st;

    pthread_once(&once, setup);
    if (!call->t->ip || n < 0) {
        probe_fail(call, "no address or bad OID");
        return;
    }
    sess = open_session(call);
    if (!sess) {
        probe_fail(call, "cannot open an SNMP session");
        return;
    }
    req = snmp_pdu_create(SNMP_MSG_GET);
    snmp_add_null_var(req, name, (size_t)n);
    st = snmp_sess_synch_response(sess, req, &resp);
    if (st == STAT_TIMEOUT)
        probe_fail(call, "no SNMP answer within %u ms", call->timeout_ms);
    else if (st != STAT_SUCCESS || !resp)
        probe_fail(call, "SNMP request failed");
    else if (resp->errstat != SNMP_ERR_NOERROR)
        probe_fail(call, "SNMP error: %s", snmp_errstring((int)resp->errstat));
    else if (!resp->variables || !var_number(resp->variables, &call->res.value))
        probe_fail(call, "%s: no such object, or not a number", jv_str(call->t->spec, "oid", ""));
    else
        call->res.has_value = true;
    if (resp)
        snmp_free_pdu(resp);
    snmp_sess_close(sess);
}

const struct probe_ops probe_snmp_ops = {
    .name = "snmp",
    .keys = (const char *const[]){"oid", "community", "port", "version", NULL},
    .validate = snmp_validate,
    .run = snmp_run,
};
