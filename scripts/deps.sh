#!/usr/bin/env bash
# Installs the Debian packages vnfm needs to build, run and test, skipping
# those already present. Needs root (apt-get).
set -euo pipefail

BUILD_PKGS="build-essential pkg-config libuv1-dev libjansson-dev libxml2-dev
  libsqlite3-dev libcurl4-openssl-dev libssl-dev libcmocka-dev libsnmp-dev"
# NETCONF (docs/NETCONF.md): libyang 2, libnetconf2 2.0, libssh; IETF YANG modules
# from libyuma-base; yanglint and ncclient for the tests.
BUILD_PKGS="$BUILD_PKGS libyang2-dev libnetconf2-dev libssh-dev"
# VNF packages (docs/PACKAGES.md): zip archives (libzip) and TOSCA YAML (libyaml).
BUILD_PKGS="$BUILD_PKGS libzip-dev libyaml-dev"
# Service endpoints of moved VNFs (docs/FEDERATION.md "Moves"): nftables DNAT
BUILD_PKGS="$BUILD_PKGS libnftables-dev"
RUN_PKGS_NC="libyuma-base"
TEST_PKGS_NC="libyang2-tools python3-ncclient"
RUN_PKGS="iproute2 nginx-light haproxy curl openssl nftables"
# The distributed store and HA (docs/HA.md); keepalived is the benchmark's yardstick.
RUN_PKGS="$RUN_PKGS etcd-server"
TEST_PKGS="sqlite3 python3 python3-yaml wrk clang-format snmpd snmp"
# promtool (Debian ships it in prometheus) checks GET /metrics in the tests;
# clang builds the libFuzzer targets (make fuzz), xxd shows what they found.
TEST_PKGS="$TEST_PKGS prometheus clang xxd keepalived"
# gdb: the tests print the threads of a manager that does not answer at start.
TEST_PKGS="$TEST_PKGS gdb"
# OpenStack's own client (the openstack command with Tacker's plugin) drives
# /vnfpkgm/v1 and /vnflcm in tests/bb/test_vnfpkgm.py.
TEST_PKGS="$TEST_PKGS python3-openstackclient python3-tackerclient"
# The console's browser tests (docs/CONSOLE.md): Debian's Chromium, driven by
# playwright-core from npm (tests/gui/package-lock.json) on Node.js 20 or later.
TEST_PKGS="$TEST_PKGS chromium"

missing=()
for p in $BUILD_PKGS $RUN_PKGS $TEST_PKGS $RUN_PKGS_NC $TEST_PKGS_NC; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}; run as root (or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx and haproxy are sample VNFs, prometheus is there for promtool, etcd and keepalived
# are started by the tests and benchmarks themselves: not host services.
for svc in nginx haproxy snmpd prometheus etcd keepalived; do
    pkill -x "$svc" 2>/dev/null || true
done
