#!/usr/bin/env bash
# Debian packages the whole test suite needs, installed only when missing:
# Chromium for the browser tests (never a downloaded browser), fonts for the PDF reports,
# Java 17 for the Spark test, PostgreSQL for the metodbank tests (they start and stop their own
# cluster). Needs root and apt-get; otherwise says what is missing.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
dpkg -s fonts-liberation >/dev/null 2>&1 || missing+=(fonts-liberation)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installerar systempaket: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "Saknas (installera med apt-get som root): ${missing[*]}" >&2
  exit 1
fi
