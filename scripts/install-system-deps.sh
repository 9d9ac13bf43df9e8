#!/usr/bin/env bash
# System packages Clipcast needs at run time and in tests (Debian/Ubuntu). Safe to re-run.
set -euo pipefail
pkgs=(ffmpeg espeak-ng fonts-dejavu-core fonts-noto-core fonts-noto-color-emoji)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
