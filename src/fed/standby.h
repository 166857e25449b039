/* Hot standby managers of a host (docs/FEDERATION.md "Standby managers").
 *
 * A vnfmd started with --standby-for watches the data dirs of active
 * managers and becomes the manager of one whose manager is gone: dead (the
 * kernel freed the dir's lock) or hung (it stopped answering its health
 * check for two heartbeats: the standby fences it with SIGKILL, after
 * checking that the process is that manager).
 *
 * The managers' side: each manager that locks its data dir records there
 * how it was started (DATA_DIR/cmdline: its cwd, then its argv), its
 * cgroups (DATA_DIR/cgroup) and its pid (DATA_DIR/pid), so that a standby
 * can start as it did, and never fences a stranger.
 */
#ifndef VNFM_FED_STANDBY_H
#define VNFM_FED_STANDBY_H

#include <sys/types.h>

struct config;

/* Runs as a standby (--standby-for): returns only when it cannot (the exit
 * status); when it takes a manager over it execs that manager. */
int standby_run(const struct config *cfg);

/* Records how this manager was started, its cgroups and pid in data_dir
 * (this manager holds its lock). */
void standby_record(const char *data_dir);

/* This manager stops on purpose: no standby is to take it over or fence
 * it (drops DATA_DIR/cmdline and DATA_DIR/pid; its next start records them
 * again). */
void standby_unrecord(const char *data_dir);

/* This manager keeps its store on a shared store (etcd), where its
 * standbys are its cluster's other members: records DATA_DIR/shared-store
 * (and drops what standby_record records) so that a standby of the data
 * dir leaves it alone. */
void standby_record_shared(const char *data_dir);

/* The pid recorded in dir by the manager that runs there (0: none). */
pid_t standby_recorded_pid(const char *dir);
/* Runs the recorded command line of dir's manager in this process (exec:
 * the same pid), in its recorded cwd. Returns only on failure (errno). */
void standby_exec_recorded(const char *dir);
/* Keeps the data dir's lock fd across the next exec, for the program it
 * runs (standby_inherited_lock takes it there). */
void standby_pass_lock(int fd);

/* The lock a standby took before it exec'd this manager, when it is the
 * lock at path lock (its fd, made close-on-exec), else -1. */
int standby_inherited_lock(const char *lock);

#endif
