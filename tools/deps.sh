#!/bin/sh
# Installs the Debian packages novalite needs to build and test, or, when not root,
# prints the single apt-get line to run. Quiet when everything is present.
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "novalite: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq $missing >/dev/null || exit 1
else
  echo "novalite: missing Debian packages. Run as root:"
  echo "  apt-get install -y$missing"
  exit 1
fi
