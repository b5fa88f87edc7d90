#!/usr/bin/env bash
# What a distribution checks on the .deb: lintian (errors fail, unless the package overrides
# them with a reason: packaging/linux/lintian-overrides), the menu entry with
# desktop-file-validate and the AppStream metainfo with appstreamcli, offline.
#
#   packaging/linux/check_deb.sh dist/filter-playground_0.1.0_amd64.deb
#
# Needs lintian, appstream and desktop-file-utils (apt-get install). Prints each tool's verdict
# and lintian's counts.
set -euo pipefail

deb=$(realpath "$1")
for tool in lintian appstreamcli desktop-file-validate; do
    command -v "$tool" >/dev/null || {
        echo "needs $tool (apt-get install lintian appstream desktop-file-utils)" >&2
        exit 1
    }
done
tree=$(mktemp -d /tmp/filter-playground-check.XXXXXX)
trap 'rm -rf "$tree"' EXIT
dpkg-deb -x "$deb" "$tree"

echo "desktop-file-validate"
desktop-file-validate "$tree"/usr/share/applications/*.desktop
echo "appstreamcli validate --no-net --strict"
appstreamcli validate --no-net --strict "$tree"/usr/share/metainfo/*.metainfo.xml
# The tree check also finds the metainfo's launchable in the installed .desktop files.
appstreamcli validate-tree --no-net --strict "$tree"

echo "lintian"
# An override is a claim that the tag is wrong for this package: it must say why, in the
# comment above it.
awk '/^#/ {reason = 1; next} /^[[:space:]]*$/ {reason = 0; next}
    !reason {print "lintian override without a reason: " $0; bad = 1} END {exit bad}' \
    "$tree/usr/share/lintian/overrides/filter-playground"
report="$tree.lintian"
trap 'rm -rf "$tree" "$report"' EXIT
# One run shows both: what is left as E: and W:, and what the package overrides as O:.
# (--fail-on would count the shown overrides as errors too, so the verdict is taken here.)
lintian --tag-display-limit 0 --show-overrides --fail-on none "$deb" >"$report" 2>&1
grep -E '^[EW]: ' "$report" || true
errors=$(grep -c '^E: ' "$report" || true)
printf 'lintian: %d errors, %d warnings, %d overridden\n' "$errors" \
    "$(grep -c '^W: ' "$report" || true)" "$(grep -c '^O: ' "$report" || true)"
# A warning is reported but does not fail the build; an error not overridden does.
[ "$errors" -eq 0 ]
