/* The signature of a package (csar.h, csar_verify_signature): SOL004
 * security option 1, a CMS signature (PEM, "-----BEGIN CMS-----") at the
 * end of the manifest over the manifest before it. The manifest holds the
 * digest of every file it lists (verified by csar_verify), so a valid
 * signature vouches for them all. The signer's certificate comes with the
 * signature, or in the package's certificate file (TOSCA.meta's
 * ETSI-Entry-Certificate; option 2: the manifest's name with .cert); it
 * must lead to a certificate of the admin's trust file, itself accepted
 * when it is there (a pinned signer). OpenSSL's CMS does the work. */
#include "catalog/csar.h"
#include "util/mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h> /* before cms.h: its PEM functions */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#define CMS_BEGIN "-----BEGIN CMS-----"
#define CERT_MAX  (1u << 20)

static int sfail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int sfail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    size_t n;
    unsigned long e = ERR_peek_last_error();

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    n = strlen(err);
    if (e && n + 3 < errlen)
        snprintf(err + n, errlen - n, " (%s)", ERR_reason_error_string(e));
    ERR_clear_error();
    return code;
}

/* The start of the CMS block: a line of its own. NULL when unsigned. */
static char *cms_start(char *text)
{
    for (char *p = strstr(text, CMS_BEGIN); p; p = strstr(p + 1, CMS_BEGIN))
        if (p == text || p[-1] == '\n')
            return p;
    return NULL;
}

/* The package's certificate file, when it names one that it holds. */
static char *cert_path(struct csar *c)
{
    const char *meta =
        json_string_value(json_object_get(csar_tosca_meta(c), "ETSI-Entry-Certificate"));
    const char *mf = csar_manifest(c), *dot = strrchr(mf, '.');

    if (meta)
        return xstrdup(meta);
    return xasprintf("%.*s.cert", dot ? (int)(dot - mf) : (int)strlen(mf), mf);
}

/* The certificates the package brings (untrusted: they help build the
 * chain), or NULL. */
static STACK_OF(X509) * package_certs(struct csar *c, char *err, size_t errlen)
{
    char *path = cert_path(c), *pem = NULL;
    STACK_OF(X509) *certs = NULL;
    BIO *b;
    X509 *x;

    if (!csar_has(c, path) || csar_read(c, path, CERT_MAX, &pem, NULL, err, errlen)) {
        free(path);
        return NULL;
    }
    certs = sk_X509_new_null();
    b = BIO_new_mem_buf(pem, -1);
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        sk_X509_push(certs, x);
    ERR_clear_error(); /* the end of the file */
    BIO_free(b);
    free(pem);
    free(path);
    return certs;
}

static X509_STORE *trust_store(const char *trust, char *err, size_t errlen)
{
    X509_STORE *st = X509_STORE_new();

    if (!st || X509_STORE_load_file(st, trust) != 1) {
        X509_STORE_free(st);
        sfail(err, errlen, -EINVAL, "cannot read the trusted certificates %s", trust);
        return NULL;
    }
    /* a certificate of the file is an anchor even when it is no CA's (a
     * pinned signer); a package's signer need not be an e-mail signer */
    X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
    X509_STORE_set_purpose(st, X509_PURPOSE_ANY);
    return st;
}

/* Verifies cms over data[0..len): as bytes, then as text (a signature
 * made without -binary covers the text with CRLF line ends). */
static bool verified(CMS_ContentInfo *cms, STACK_OF(X509) * certs, X509_STORE *st, const char *data,
                     size_t len)
{
    static const unsigned modes[] = {CMS_BINARY, 0};

    for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++) {
        BIO *in = BIO_new_mem_buf(data, (int)len);
        int ok = CMS_verify(cms, certs, st, in, NULL, modes[i]);

        BIO_free(in);
        if (ok == 1)
            return true;
    }
    return false;
}

/* The subject of the first signer, one line. */
static void signer_name(CMS_ContentInfo *cms, char *out, size_t n)
{
    STACK_OF(X509) *signers = CMS_get0_signers(cms);

    *out = '\0';
    if (signers && sk_X509_num(signers) > 0)
        X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)), out, (int)n);
    sk_X509_free(signers);
}

int csar_verify_signature(struct csar *c, const char *trust, char *signer, size_t signer_len,
                          char *err, size_t errlen)
{
    char *text = NULL, *sig;
    CMS_ContentInfo *cms = NULL;
    STACK_OF(X509) *certs = NULL;
    X509_STORE *st = NULL;
    BIO *b;
    size_t len;
    int r;

    if (!csar_manifest(c))
        return -ENOENT;
    r = csar_read(c, csar_manifest(c), 4u << 20, &text, NULL, err, errlen);
    if (r)
        return r;
    sig = cms_start(text);
    if (!sig) {
        free(text);
        return -ENOENT;
    }
    len = (size_t)(sig - text);
    b = BIO_new_mem_buf(sig, -1);
    cms = PEM_read_bio_CMS(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!cms) {
        r = sfail(err, errlen, -EINVAL, "%.200s: the CMS signature cannot be read",
                  csar_manifest(c));
        goto out;
    }
    if (!trust) {
        r = sfail(err, errlen, -EPERM,
                  "%.200s: the manifest is signed, and no certificates to verify it are "
                  "configured (--package-trust)",
                  csar_manifest(c));
        goto out;
    }
    certs = package_certs(c, err, errlen);
    st = trust_store(trust, err, errlen);
    /* the content signed: the manifest before the signature, or before the
     * blank line that sets the signature apart */
    if (!st)
        r = -EINVAL;
    else if (!verified(cms, certs, st, text, len) &&
             !(len >= 2 && text[len - 2] == '\n' && verified(cms, certs, st, text, len - 1)))
        r = sfail(err, errlen, -EINVAL,
                  "%.200s: the signature of the manifest is not valid, or not by a signer the "
                  "--package-trust certificates vouch for",
                  csar_manifest(c));
    else
        signer_name(cms, signer, signer_len);
out:
    X509_STORE_free(st);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    free(text);
    return r;
}
