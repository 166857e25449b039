/* The operator's console (docs/CONSOLE.md): the static files of www/,
 * compiled into the daemon, served under /ui/ by a mount of the router.
 *
 * The console is a page of plain JavaScript that talks only to the public
 * REST API and /v0/events with the token the operator signs in with; this
 * mount serves its files and nothing else: no token needed, each file with
 * its content type, an ETag (If-None-Match answers 304), "Cache-Control:
 * no-cache" and a strict Content-Security-Policy (scripts and styles from
 * /ui/ only, no inline script, no eval, Trusted Types so that no string
 * reaches an HTML sink).
 */
#ifndef VNFM_UI_H
#define VNFM_UI_H

#include "rest/router.h"

/* The console's mount at /ui. */
extern const struct mount ui_mount;

/* A file of the console by its name under /ui/ ("" is index.html), with its
 * content type and ETag (a quoted hash of its bytes); NULL when there is
 * none. The data is the daemon's own (not to be freed). */
struct ui_file {
    const char *name, *ctype, *etag;
    const char *data;
    size_t len;
};
const struct ui_file *ui_find(const char *name);

#endif
