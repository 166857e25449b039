/* Named network namespaces in /run/netns, the convention of `ip netns`, so
 * that operators can `ip netns exec vnfm-TAG-ID ...` into a VI. They are
 * made without forking ip(8): a short-lived thread unshares its network
 * namespace and bind-mounts it onto the name. All return 0 or -errno. */
#ifndef VNFM_NETNS_H
#define VNFM_NETNS_H

#define NETNS_DIR "/run/netns"

/* Creates the namespace unless it already exists. */
int netns_create(const char *name);
/* An O_CLOEXEC fd of the namespace, or -errno (-ENOENT when missing). */
int netns_open(const char *name);
/* Mounts the namespace called from under the name to (which must not
 * exist) as well; netns_delete(from) then completes a rename. */
int netns_alias(const char *from, const char *to);
/* Unmounts and removes the name; a missing one is fine. */
int netns_delete(const char *name);
/* Runs fn(arg) on a thread that has joined the namespace of fd, and
 * returns what fn returned. */
int netns_run(int fd, int (*fn)(void *arg), void *arg);
/* Called inside a VI's namespace: its processes, which run unprivileged,
 * may bind every port (snmpd on 161) and use ICMP echo sockets (ping),
 * without a capability; both settings are the namespace's own. */
int netns_unprivileged(void);

#endif
