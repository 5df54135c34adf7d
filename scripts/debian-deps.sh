#!/usr/bin/env bash
# Installs the Debian packages given as arguments when they are missing (`make test` needs
# nginx with its Lua module, valgrind and jansson for the C ABI tests). Checked on every run,
# never stamped: a cached target/ on a new machine must not skip the install.
set -euo pipefail
missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The nginx package starts a system service when installed; the tests start their own NGINX,
# so tell Debian's maintainer scripts not to (policy-rc.d exit 101: "action forbidden").
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  guard=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$guard" >/dev/null
  $sudo chmod +x "$guard"
fi
status=0
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
if [ -n "$guard" ]; then $sudo rm -f "$guard"; fi
exit "$status"
