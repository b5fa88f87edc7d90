#!/usr/bin/env bash
# Build a compressed disk image holding an app bundle and an /Applications link, so the user
# installs by dragging the app onto the link.
#
#   make_dmg.sh "dist/Filter Playground.app" "dist/filter-playground-0.1.0.dmg"
set -euo pipefail

die() {
    echo "make_dmg.sh: $*" >&2
    exit 1
}

[[ $# -eq 2 ]] || die "usage: make_dmg.sh <path to .app> <out.dmg>"
app="${1%/}"
out="$2"

[[ "$app" == *.app ]] || die "$app is not an .app bundle (the name must end in .app)"
[[ -d "$app" ]] || die "$app does not exist or is not a directory; build the bundle first"
[[ "$out" == *.dmg ]] || die "$out: the output name must end in .dmg"
command -v hdiutil >/dev/null || die "hdiutil not found: disk images can only be made on macOS"
command -v ditto >/dev/null || die "ditto not found: disk images can only be made on macOS"

app_name="$(basename "$app")"
volume="${app_name%.app}"

staging="$(mktemp -d "${TMPDIR:-/tmp}/make_dmg.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

# ditto, not cp -R: it keeps the framework symlinks, extended attributes and code signatures
# that Qt's frameworks inside the bundle depend on.
ditto "$app" "$staging/$app_name"
ln -s /Applications "$staging/Applications"

mkdir -p "$(dirname "$out")"

# hdiutil create fails now and then with "Resource busy" on CI runners (a disk-arbitration race,
# not a real error), so a few attempts before giving up.
attempt=1
until hdiutil create -volname "$volume" -srcfolder "$staging" -fs HFS+ \
    -format UDZO -imagekey zlib-level=9 -ov "$out"; do
    if ((attempt >= 5)); then
        die "hdiutil create failed $attempt times for $out"
    fi
    echo "make_dmg.sh: hdiutil create failed (attempt $attempt), retrying" >&2
    attempt=$((attempt + 1))
    sleep $((attempt * 2))
done

hdiutil verify "$out" >/dev/null || die "hdiutil verify failed for $out"
echo "make_dmg.sh: $out"
