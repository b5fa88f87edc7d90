#!/usr/bin/env bash
# Proof the .deb installs on a minimal Debian: debootstrap a fresh minbase system, install the
# package with apt (which must pull every library it needs from its Depends), run the self-test
# offscreen and on a real X server (Xvfb, xcb platform), purge it and check nothing is left.
#
#   sudo packaging/linux/test_deb_install.sh dist/filter-playground_0.1.0_amd64.deb
#
# Needs root, debootstrap and a reachable Debian mirror. Prints one line per step and the time.
set -euo pipefail

deb=$(realpath "$1")
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
start=$SECONDS
root=$(mktemp -d /tmp/filter-playground-install-test.XXXXXX)
chmod 755 "$root"  # apt downloads as the _apt user, who must reach the chroot's cache

cleanup() {
    for mount in dev/pts dev proc sys; do
        mountpoint -q "$root/$mount" && umount -l "$root/$mount"
    done
    rm -rf "$root"
}
trap cleanup EXIT

step() { printf '%4ds  %s\n' $((SECONDS - start)) "$*"; }
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

command -v debootstrap >/dev/null || { echo "needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
step "debootstrap --variant=minbase $suite"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
    { tail -20 "$root.debootstrap.log" >&2; exit 1; }
rm -f "$root.debootstrap.log"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp "$deb" "$root/tmp/"
name=$(basename "$deb")

step "apt-get install ./$name"
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "/tmp/$name" >/dev/null

step "self-test, offscreen"
in_root env QT_QPA_PLATFORM=offscreen filter-playground --self-test

step "self-test, Xvfb with the xcb platform"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xvfb xauth >/dev/null
in_root env QT_QPA_PLATFORM=xcb xvfb-run -a filter-playground --self-test

step "desktop entry, icon and AppStream metainfo"
test -x "$root/usr/bin/filter-playground"
grep -q '^Exec=filter-playground' "$root/usr/share/applications/filter-playground.desktop"
test -f "$root/usr/share/icons/hicolor/256x256/apps/filter-playground.png"
test -f "$root/usr/share/metainfo/org.filterplayground.FilterPlayground.metainfo.xml"

step "manual page, changelog and copyright"
test -f "$root/usr/share/man/man1/filter-playground.1.gz"
test -f "$root/usr/share/doc/filter-playground/changelog.gz"
grep -q "^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" "$root/usr/share/doc/filter-playground/copyright"
test -f "$root/opt/filter-playground/_internal/licenses/README.txt"

step "apt-get purge filter-playground"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq filter-playground >/dev/null
left=$(find "$root/opt" "$root/usr/share/applications" "$root/usr/bin" "$root/usr/share/icons" \
    "$root/usr/share/metainfo" "$root/usr/share/man" "$root/usr/share/doc" "$root/usr/share/lintian" \
    \( -name 'filter-playground*' -o -name 'org.filterplayground.*' \) 2>/dev/null || true)
if [ -n "$left" ]; then
    echo "left behind after purge:" >&2
    echo "$left" >&2
    exit 1
fi
step "install test passed"
