#!/usr/bin/env bash
# Install the Debian packages of the real peers our interop tests use (needs root).
# Without root it only names what is missing; tests then skip locally (and fail under CI=true).
set -euo pipefail
PACKAGES=(
  rsyslog rsyslog-gnutls               # an Audit Record Repository stand-in: syslog over TCP, TLS (gtls), UDP
  dcmtk dicom3tools orthanc orthanc-dicomweb   # DICOM peers and validators; Orthanc's DICOMweb plugin (tests/web/test_dicomweb*)
  libgdcm-tools                        # gdcmconv: a second decoder to cross-check undecodable files
  xorriso genisoimage udftools         # ISO/UDF mastering checks, pseudo drives
  7zip udfclient                       # independent UDF readers: 7zz extracts, udfdump walks the tree
  poppler-utils                        # pdftotext / pdftoppm for labels
  chromium                             # the on-disc viewer opened by a real browser
  firefox-esr                          # ... in Firefox (WebDriver BiDi, built in)
  webkit2gtk-driver xvfb               # ... in WebKit (Safari's engine): WebKitWebDriver + MiniBrowser, on Xvfb
  fonts-dejavu-core fonts-droid-fallback  # label fonts: Latin/Greek/Cyrillic, CJK
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "peers missing (run as root to install): ${missing[*]}" >&2
  exit 0
fi
echo "installing peers: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
