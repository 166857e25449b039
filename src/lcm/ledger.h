/* A site's ledger on its host (docs/FEDERATION.md "A site's allocation"):
 * a file the managers of one branch site on one host share - the first
 * manager, the managers it started and their standbys - in which each
 * keeps what it holds of the site (its VIs and the managers it started),
 * one line per manager: "TAG PID VCPU MEMORY_MB". An admission locks the
 * file (flock), reads what the others hold, and writes its own claim
 * before the lock goes: two managers admitting at once see each other's
 * claim at once, not a report interval later through the cloud. A
 * manager's line is the one of its pid; a line whose process is gone is
 * not counted, and is dropped at the next write. */
#ifndef VNFM_LEDGER_H
#define VNFM_LEDGER_H
#include "core/core.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LEDGER_MAX 256 /* managers of a site on a host */

struct ledger_entry {
    char tag[TAG_LEN + 1];
    pid_t pid;
    double vcpu;
    long long memory_mb;
};

struct ledger {
    int fd; /* -1: none (the file could not be opened: the cloud's figures alone) */
    struct ledger_entry others[LEDGER_MAX]; /* read by the last ledger_lock */
    size_t n;
    uint64_t warned_ms; /* mono ms of the last warning of a lock not had */
};

/* Opens (creates) the ledger at path. */
int ledger_open(struct ledger *l, const char *path);
/* Locks it and reads the other live processes' entries into l->others;
 * -EWOULDBLOCK when another one holds the lock for more than 50 ms (it
 * is stopped, say): then the caller goes on without it. */
int ledger_lock(struct ledger *l);
/* Writes this manager's entry (mine NULL: none) with the others read, and
 * unlocks. */
void ledger_unlock(struct ledger *l, const struct ledger_entry *mine);
/* Drops this manager's entry (a clean stop) and closes the file. */
void ledger_close(struct ledger *l);
#endif
