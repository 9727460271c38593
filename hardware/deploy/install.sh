#!/bin/sh
# Installs the bundled edge agent: run from the bundle's directory (dist/edge-agent) as root.
#   sh install.sh [--prefix DIR] [--root DIR] [--dry-run] [AGENT...]
# --prefix: where the bundle goes (default /opt/consort, so /opt/consort/edge-agent/main.js).
# --root:   install into this directory instead of / (no users, no systemctl): for tests and images.
# --dry-run: say what would be done, do nothing.
# Each AGENT gets /etc/consort/AGENT.yaml and AGENT.env from the examples unless they exist;
# enable it with `systemctl enable --now consort-agent@AGENT`.
set -eu

prefix=/opt/consort
root=
dry=
agents=
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; exit 64 ;;
    *) agents="$agents $1"; shift ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$here/main.js" ]; then
  echo "install.sh: $here/main.js is missing: run it from the bundle (npm run bundle:agent)" >&2
  exit 66
fi
node=$(command -v node || true)
if [ -z "$node" ]; then
  echo "install.sh: node is not on PATH: install Node.js 20.19 or later first" >&2
  exit 69
fi
major=$("$node" -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "install.sh: node $("$node" --version) is too old: 20.19 or later is needed" >&2
  exit 69
fi

run() {
  if [ -n "$dry" ]; then echo "+ $*"; else "$@"; fi
}

dest="$root$prefix/edge-agent"
etc="$root/etc/consort"
units="$root/etc/systemd/system"

run mkdir -p "$dest" "$etc" "$units"
for f in main.js package.json chunks node_modules examples; do
  [ -e "$here/$f" ] && run cp -R "$here/$f" "$dest/"
done
# The unit with this machine's node and the chosen prefix.
if [ -n "$dry" ]; then
  echo "+ write $units/consort-agent@.service (ExecStart=$node $prefix/edge-agent/main.js ...)"
else
  sed -e "s|@NODE@|$node|" -e "s|@PREFIX@|$prefix|" "$here/consort-agent@.service" \
    >"$units/consort-agent@.service"
  chmod 0644 "$units/consort-agent@.service"
fi
for a in $agents; do
  [ -e "$etc/$a.yaml" ] || run cp "$here/agent.example.yaml" "$etc/$a.yaml"
  if [ ! -e "$etc/$a.env" ]; then
    run cp "$here/agent.env.example" "$etc/$a.env"
    run chmod 0600 "$etc/$a.env"
  fi
done
# The service user is made by systemd (DynamicUser) with its state directory; nothing to create.
if [ -z "$root" ] && [ "$(id -u)" = 0 ] && command -v systemctl >/dev/null 2>&1; then
  run systemctl daemon-reload
  for a in $agents; do echo "next: edit $etc/$a.yaml and $etc/$a.env, then systemctl enable --now consort-agent@$a"; done
else
  echo "installed into ${root:-/}; no systemctl run"
fi
