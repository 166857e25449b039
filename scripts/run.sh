#!/usr/bin/env bash
# `make run`: install what is missing, build, start a vnfmd on the embedded
# default (SQLite under ./var, the proc VIM), on-board the sample VNFDs,
# deploy one sample VNF and say how to use it.
set -euo pipefail
cd "$(dirname "$0")/.."

URL=${VNFM_URL:-http://127.0.0.1:8080}
LISTEN=${URL#http://}
DATA=${VNFM_DATA_DIR:-$PWD/var}

scripts/deps.sh
make -j"$(nproc)" >/dev/null
mkdir -p "$DATA"
export VNFM_URL=$URL VNFM_TOKEN_FILE=$DATA/admin.token
ctl=build/vnfmctl

if ! $ctl health >/dev/null 2>&1; then
    echo "== starting vnfmd on $URL (data in $DATA, log in $DATA/vnfmd.log)"
    nohup build/vnfmd --listen "$LISTEN" --data-dir "$DATA" --vnf-path "$PWD/build/examples" \
        >>"$DATA/vnfmd.log" 2>&1 &
    echo $! >"$DATA/vnfmd.pid"
    for _ in $(seq 100); do
        $ctl health >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
$ctl health

echo "== on-boarding the sample VNFDs"
for f in examples/vnfds/*.json; do
    $ctl vnfd onboard "$f" >/dev/null 2>&1 && echo "   $f" || echo "   $f (already on-boarded)"
done

if ! $ctl deployment show demo >/dev/null 2>&1; then
    echo "== deploying the sample VNF 'demo' (demo-web)"
    $ctl deploy demo --vnfd demo-web --param greeting="hello from vnfm" --wait
fi
$ctl deployment show demo

ip=$($ctl -o json deployment show demo | sed -n 's/.*"ip": *"\([0-9.]*\)".*/\1/p' | head -1)
cat <<MSG

vnfmd is running: REST API $URL (pid $(cat "$DATA/vnfmd.pid" 2>/dev/null || echo "?"))
Admin token: $DATA/admin.token   (export VNFM_TOKEN_FILE=$DATA/admin.token)
Web console: $URL/ui/   (sign in with the admin token; docs/CONSOLE.md)

Try:
  export VNFM_URL=$URL VNFM_TOKEN_FILE=$DATA/admin.token
  curl http://$ip:8080/stats                      # the sample VNF, on its own namespace address
  $ctl deployments                          # what runs
  $ctl scale demo --vdu web --delta 1 --wait    # one more instance
  kill -9 <pid from 'deployment show'>      # the VNF is back at once, by itself
  $ctl decisions --deployment demo          # why (rule process-exit), and when the next may be
  $ctl logs --object demo                   # the lifecycle event log
  $ctl events                               # live events (Ctrl-C to stop)
  $ctl undeploy demo --wait
Stop the daemon with: kill \$(cat $DATA/vnfmd.pid)   (VNFs keep running and are adopted on restart)
MSG
