# shellcheck shell=bash
# ensure_fonts: the TTF font the reports service embeds in its PDFs (it renders the Kyrgyz and Kazakh letters
# ө ү ң қ ә ғ ұ і), and poppler-utils (pdftotext, pdftoppm) with which the tests read those PDFs back.
# Source deploy/lib.sh first (for step/apt_install/die); or run this file directly: `bash deploy/fonts.sh`.

EJOURNAL_FONT_DIR=${EJOURNAL_FONT_DIR:-/usr/share/fonts/truetype/dejavu}

ensure_fonts() {
  local font="$EJOURNAL_FONT_DIR/DejaVuSans.ttf" bold="$EJOURNAL_FONT_DIR/DejaVuSans-Bold.ttf"
  if [[ -s $font && -s $bold ]] && command -v pdftotext >/dev/null 2>&1; then
    return 0
  fi
  apt_install fonts-dejavu-core poppler-utils
  [[ -s $font ]] || die "no font file $font after installing fonts-dejavu-core (set EJOURNAL_FONT_DIR?)"
  [[ -s $bold ]] || die "no font file $bold after installing fonts-dejavu-core (set EJOURNAL_FONT_DIR?)"
  step "fonts: $font"
}

# run directly: a minimal stand-in for lib.sh's helpers
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  step() { printf '==> %s\n' "$*"; }
  die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
  }
  apt_install() {
    local pkg missing=()
    for pkg in "$@"; do
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get: install them yourself"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo -n)
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=120 update -q >/dev/null || die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -q \
      "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
  }
  ensure_fonts
fi
