#!/bin/sh
# Install the Debian packages the build needs, when we can.
# Usage: scripts/deps.sh PACKAGE...
# As root (or with password-less sudo) missing packages are installed with
# apt-get; otherwise the exact command is printed and the script fails.
set -eu
command -v dpkg-query >/dev/null 2>&1 || {
    echo "backprop: not a Debian system; make sure these are installed: $*" >&2
    exit 0
}
missing=""
for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
else
    echo "backprop: missing Debian packages:$missing" >&2
    echo "backprop: install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "backprop: installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# A stale package list makes installs fail; refresh it once first.
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
