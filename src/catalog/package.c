/* VNF package records, files and their SOL005 view (package.h). */
#include "catalog/package.h"
#include "util/doc.h"
#include "util/jsonv.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pkg_dir(const struct config *cfg, const char *id)
{
    return xasprintf("%s/packages/%s", cfg->data_dir, id);
}

char *pkg_archive(const struct config *cfg, const char *id)
{
    return xasprintf("%s/packages/%s/" PKG_ARCHIVE_NAME, cfg->data_dir, id);
}

char *pkg_scripts_root(const struct config *cfg)
{
    return cfg->package_scripts ? xstrdup(cfg->package_scripts)
                                : xasprintf("%s-package-scripts", cfg->data_dir);
}

char *pkg_scripts(const struct config *cfg, const char *id)
{
    char *root = pkg_scripts_root(cfg), *dir = xasprintf("%s/%s", root, id);

    free(root);
    return dir;
}

char *pkg_upload_dir(const struct config *cfg)
{
    return xasprintf("%s/packages/.uploads", cfg->data_dir);
}

bool pkg_visible(const struct principal *who, const json_t *rec)
{
    const char *owner = doc_str(rec, "tenant");

    return who->admin || !owner || strcmp(owner, who->tenant) == 0;
}

const char *pkg_vnfd_key(struct store *st, const json_t *rec, char key[KEY_BUF_MAX])
{
    const char *tenant = doc_str(rec, "tenant"), *id = jv_str(rec, "vnfdId", "");
    json_t *doc = NULL;

    id_scoped(key, tenant, id);
    if (tenant && store_get(st, STORE_VNFD, key, &doc)) /* on-boarded before names were scoped */
        snprintf(key, KEY_BUF_MAX, "%s", id);
    json_decref(doc);
    return key;
}

bool pkg_in_use(struct store *st, const json_t *rec)
{
    char key[KEY_BUF_MAX];
    struct store_where w = {"vnfd", pkg_vnfd_key(st, rec, key), false};

    return doc_str(rec, "vnfdId") && strcmp(doc_str(rec, "onboardingState"), PKG_ONBOARDED) == 0 &&
           store_count(st, STORE_DEPLOYMENT, &w, 1) > 0;
}

json_t *pkg_info(const json_t *rec, const char *base, bool in_use)
{
    json_t *info = doc_public(rec), *links;
    const char *id = doc_str(rec, "id");

    json_object_del(info, "tenant");
    json_object_del(info, "created");
    json_object_del(info, "updated");
    json_object_set_new(info, "usageState", json_string(in_use ? "IN_USE" : "NOT_IN_USE"));
    links = json_pack("{s:{s:s++}, s:{s:s+++}}", "self", "href", base, "/vnf_packages/", id,
                      "packageContent", "href", base, "/vnf_packages/", id, "/package_content");
    if (doc_str(rec, "vnfdId"))
        json_object_set_new(links, "vnfd",
                            json_pack("{s:s+++}", "href", base, "/vnf_packages/", id, "/vnfd"));
    json_object_set_new(info, "_links", links);
    return info;
}
