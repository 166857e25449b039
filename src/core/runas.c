#include "core/runas.h"
#include "util/doc.h"
#include "util/fsutil.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define SCRIPT_TMP_MB 64  /* each of a script's private /tmp, /var/tmp, /dev/shm */
#define SCRIPT_NPROC  256 /* processes of a tenant's scripts together */

uid_t runas_uid(const json_t *doc)
{
    return (uid_t)doc_int(doc, "_uid", 0);
}

/* ---- the host-wide registry ---- */

static void reg_path(uid_t uid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%u", RUNAS_REGISTRY, (unsigned)uid);
}

/* The index of a tag's claims: RUNAS_BY_TAG/TAG, one empty file a uid. */
static void tag_dir(const char *tag, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", RUNAS_BY_TAG, tag);
}

static void mark_path(const char *tag, uid_t uid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s/%u", RUNAS_BY_TAG, tag, (unsigned)uid);
}

static bool reg_holds(const char *tag, const char *path)
{
    char *text = NULL;
    bool ours = read_file(path, 64, &text, NULL) == 0 && strcmp(text, tag) == 0;

    free(text);
    return ours;
}

static bool reg_ours(const struct core *c, const char *path)
{
    return reg_holds(c->tag, path);
}

/* Creates the claim of uid, with our tag in it from the first moment
 * (written to an unnamed file, then linked): 0, or -EEXIST when someone
 * holds it already (or we do). The index entry is made first, so that a
 * crash never leaves a claim of ours the index does not show; one without
 * a claim is swept. */
static int mark_add(const struct core *c, uid_t uid, char *mark, size_t len)
{
    int fd;

    mark_path(c->tag, uid, mark, len);
    fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT) { /* the tag's first claim on this host since a boot */
        char dir[96];

        tag_dir(c->tag, dir, sizeof(dir));
        if (mkdir_p(dir, 0700) == 0)
            fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    }
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

static int reg_create(const struct core *c, uid_t uid)
{
    char path[64], fdpath[64], mark[128];
    int fd, r = mark_add(c, uid, mark, sizeof(mark));

    if (r)
        return r;
    fd = open(RUNAS_REGISTRY, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    reg_path(uid, path, sizeof(path));
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
    if (write(fd, c->tag, strlen(c->tag)) != (ssize_t)strlen(c->tag) ||
        linkat(AT_FDCWD, fdpath, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0)
        r = errno ? -errno : -EIO;
    close(fd);
    if (r && !(r == -EEXIST && reg_ours(c, path)))
        unlink(mark);
    return r;
}

static void reg_free(const struct core *c, uid_t uid)
{
    char path[64], mark[128];

    reg_path(uid, path, sizeof(path));
    if (reg_ours(c, path) && unlink(path) < 0)
        log_warn("cannot free uid %u in %s: %s", (unsigned)uid, RUNAS_REGISTRY, strerror(errno));
    mark_path(c->tag, uid, mark, sizeof(mark));
    unlink(mark);
}

int runas_claim(struct core *c, uid_t *uid)
{
    uid_t first = c->cfg->uid_first, n = c->cfg->uid_last - first + 1;

    if (c->uid_next < first || c->uid_next > c->cfg->uid_last)
        c->uid_next = first;
    for (uid_t i = 0; i < n; i++) {
        uid_t u = first + (c->uid_next - first + i) % n;
        char path[64];
        int r;

        reg_path(u, path, sizeof(path));
        if (access(path, F_OK) == 0) /* someone's: a look is cheaper than a try */
            continue;
        r = reg_create(c, u);

        if (r == 0) {
            c->uid_next = u + 1;
            *uid = u;
            return 0;
        }
        if (r != -EEXIST) {
            log_error("cannot claim a uid in %s: %s", RUNAS_REGISTRY, strerror(-r));
            return r;
        }
    }
    log_error("every uid of --sandbox-uids %u-%u is taken", (unsigned)first,
              (unsigned)c->cfg->uid_last);
    return -ENOSPC;
}

int runas_take(struct core *c, uid_t uid)
{
    char path[64], tmp[80], mark[128];
    int r;

    reg_path(uid, path, sizeof(path));
    if (reg_ours(c, path))
        return 0;
    r = mark_add(c, uid, mark, sizeof(mark)); /* the index first, as for a claim */
    snprintf(tmp, sizeof(tmp), "%s.%s", path, c->tag);
    if (r == 0 &&
        (write_file_atomic(tmp, c->tag, strlen(c->tag), 0600, false) || rename(tmp, path) < 0))
        r = errno ? -errno : -EIO;
    if (r)
        log_warn("cannot take uid %u over in %s: %s", (unsigned)uid, RUNAS_REGISTRY, strerror(-r));
    return r;
}

static void release_cb(struct core *c, void *arg)
{
    reg_free(c, (uid_t)(uintptr_t)arg);
}

void runas_release(struct core *c, const json_t *doc)
{
    uid_t uid = runas_uid(doc);

    if (uid)
        core_after_commit(c, release_cb, (void *)(uintptr_t)uid, NULL);
}

/* ---- start-up ---- */

/* The uids the records hold, as decimal strings (a hash: a manager of tens
 * of thousands of tenants starts, and takes over, in linear time). */
static bool held_has(const struct hmap *h, uid_t uid)
{
    char key[16];

    snprintf(key, sizeof(key), "%u", (unsigned)uid);
    return hmap_get(h, key) != NULL;
}

static void held_add(struct hmap *h, uid_t uid)
{
    char key[16];

    snprintf(key, sizeof(key), "%u", (unsigned)uid);
    hmap_put(h, key, h); /* any non-NULL value */
}

/* Whether vi is of a deployment being handed over between two managers
 * (fed/handover.c): its claim is the giver's until the taker commits. */
static bool handing_over(struct core *c, enum store_kind k, const json_t *vi)
{
    json_t *dep = NULL;
    bool yes;

    if (k != STORE_VI || store_get(c->st, STORE_DEPLOYMENT, doc_str(vi, "deployment"), &dep))
        return false;
    yes = json_object_get(dep, "_handover") != NULL;
    json_decref(dep);
    return yes;
}

/* The recorded uid claimed again, or a new one; added to h. */
static int reconcile_doc(struct core *c, enum store_kind k, json_t *doc, struct hmap *h)
{
    uid_t uid = runas_uid(doc);
    char path[64];
    int r;

    reg_path(uid, path, sizeof(path));
    if (uid && handing_over(c, k, doc))
        goto keep; /* neither claimed again nor given another: its process runs as it */
    if (uid && !held_has(h, uid) &&
        ((r = reg_create(c, uid)) == 0 || (r == -EEXIST && reg_ours(c, path))))
        goto keep;
    if (uid)
        log_warn("%s %s: uid %u is taken by another manager; it gets a new one", store_kind_name(k),
                 doc_str(doc, "id"), (unsigned)uid);
    r = runas_claim(c, &uid);
    if (r)
        return r;
    doc_set_int(doc, "_uid", uid);
    r = store_put(c->st, k, doc);
    if (r)
        return r;
keep:
    held_add(h, uid);
    if (uid >= c->uid_next && uid <= c->cfg->uid_last)
        c->uid_next = uid + 1;
    return 0;
}

/* Frees the claims of ours that no record holds (a crash between a claim
 * and its commit): those its index shows, not every manager's (the
 * registry of a host that ran many managers holds tens of thousands, and
 * reading each took a start-up more than 20 s under load). */
static void sweep(struct core *c, const struct hmap *h)
{
    char dir[96];
    DIR *d;
    struct dirent *e;

    tag_dir(c->tag, dir, sizeof(dir));
    d = opendir(dir);

    while (d && (e = readdir(d))) {
        char *end;
        unsigned long uid = strtoul(e->d_name, &end, 10);

        if (e->d_name[0] != '.' && *end == '\0' && !held_has(h, (uid_t)uid))
            reg_free(c, (uid_t)uid);
    }
    if (d)
        closedir(d);
}

static int reconcile(struct core *c)
{
    static const enum store_kind kinds[] = {STORE_TENANT, STORE_VI};
    struct hmap h;
    int r = mkdir_p(RUNAS_REGISTRY, 0700);

    hmap_init(&h);

    /* new claims start from a random point of the range (then upward): a
     * host where many managers came and went holds thousands of claims
     * from its start, and trying each of them took a start-up 20 s */
    if (getrandom(&c->uid_next, sizeof(c->uid_next), 0) != sizeof(c->uid_next))
        c->uid_next = 0;
    c->uid_next = c->cfg->uid_first + c->uid_next % (c->cfg->uid_last - c->cfg->uid_first + 1);
    for (size_t k = 0; r == 0 && k < ARRAY_SIZE(kinds); k++) {
        json_t *docs = NULL, *doc;
        size_t i;

        r = store_list(c->st, kinds[k], NULL, &docs);
        json_array_foreach(docs, i, doc)
        {
            if (r == 0)
                r = reconcile_doc(c, kinds[k], doc, &h);
        }
        json_decref(docs);
    }
    if (r == 0)
        sweep(c, &h);
    else
        log_error("sandbox identities: %s", strerror(r < 0 ? -r : EIO));
    hmap_done(&h);
    return r;
}

/* The namespace tenant scripts start from (util/sandbox.h): made once. */
static const char *const *script_hidden(const struct core *c, const char *v[3])
{
    v[0] = c->cfg->data_dir;
    v[1] = "/run/netns"; /* iproute2's network namespaces: nothing to copy */
    v[2] = NULL;
    return v;
}

int runas_open(struct core *c)
{
    const char *hidden[3], *step;
    int r = reconcile(c), n = 0;

    if (r)
        return r;
    if (c->cfg->script_dir && *c->cfg->script_dir)
        c->program_dirs[n++] = xstrdup(c->cfg->script_dir);
    /* the LCM scripts of VNF packages (catalog/package.c pkg_scripts_root) */
    c->program_dirs[n++] = c->cfg->package_scripts
                               ? xstrdup(c->cfg->package_scripts)
                               : xasprintf("%s-package-scripts", c->cfg->data_dir);
    sandbox_dirs_add(c->program_dirs, n, SANDBOX_MAX_PATHS, c->cfg->vnf_path);
    c->script_base = sandbox_base_new(script_hidden(c, hidden), &step);
    if (!c->script_base) /* each script then prepares its own: slower, as safe */
        log_warn("tenant scripts: no base mount namespace (%s: %s)", step, strerror(errno));
    return 0;
}

void runas_close(struct core *c)
{
    sandbox_base_free(c->script_base);
    c->script_base = NULL;
    for (int i = 0; i < SANDBOX_MAX_PATHS && c->program_dirs[i]; i++) {
        free((char *)c->program_dirs[i]);
        c->program_dirs[i] = NULL;
    }
}

/* Every claim is looked at, not only those the tag's index shows: an
 * operator's cleanup also finds those made before the index existed. */
int runas_forget(const char *tag)
{
    DIR *d = opendir(RUNAS_REGISTRY);
    struct dirent *e;
    char dir[96];
    int n = 0;

    while (d && (e = readdir(d))) {
        char path[300];

        snprintf(path, sizeof(path), "%s/%s", RUNAS_REGISTRY, e->d_name);
        if (e->d_name[0] != '.' && reg_holds(tag, path) && unlink(path) == 0)
            n++;
    }
    if (d)
        closedir(d);
    tag_dir(tag, dir, sizeof(dir));
    if (*tag && !strchr(tag, '/') && *tag != '.')
        rm_rf(dir);
    return n;
}

/* ---- scripts ---- */

bool runas_vnfd_admin(const json_t *vnfd)
{
    return vnfd && (json_is_true(json_object_get(vnfd, "_admin")) || !doc_str(vnfd, "tenant"));
}

bool runas_policy_admin(const json_t *dep, const json_t *vnfd)
{
    const json_t *v = json_object_get(dep, "_policy_admin");

    return json_is_boolean(v) ? json_is_true(v) : runas_vnfd_admin(vnfd);
}

/* script names a file under dir, without a way out ("..", "."). */
static bool in_dir(const char *dir, const char *script)
{
    size_t n = dir ? strlen(dir) : 0;

    if (!n || strncmp(script, dir, n) != 0 || script[n] != '/')
        return false;
    for (const char *p = script + n; *p; p++)
        if (p[0] == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || p[2] == '\0')) ||
                            (p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0'))))
            return false;
    return true;
}

const struct sandbox *runas_script(const struct core *c, const char *script, bool admin_wrote,
                                   uid_t tenant_uid, struct sandbox *sb)
{
    const char *hidden[3];

    if (admin_wrote && in_dir(c->cfg->script_dir, script))
        return NULL;
    script_hidden(c, hidden);
    *sb = (struct sandbox){.uid = tenant_uid,
                           .flags = SANDBOX_PRIVATE_TMP | SANDBOX_OWN_PIDS | SANDBOX_OWN_IPC,
                           .tmp_mb = SCRIPT_TMP_MB,
                           .nproc = SCRIPT_NPROC,
                           .cwd = "/tmp",
                           .hidden = {hidden[0], hidden[1]},
                           .base = c->script_base};
    memcpy(sb->readonly, c->program_dirs, sizeof(sb->readonly));
    return sb;
}
