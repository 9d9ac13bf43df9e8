#!/usr/bin/env bash
# System packages Clipcast needs at run time (Debian/Ubuntu); with --test also those the tests need (chromium for
# the studio's browser tests). Safe to re-run: installs only what is missing.
set -euo pipefail
pkgs=(ffmpeg espeak-ng fonts-dejavu-core fonts-noto-core fonts-noto-color-emoji)
[ "${1:-}" = "--test" ] && pkgs+=(chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
