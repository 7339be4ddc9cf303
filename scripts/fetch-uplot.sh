#!/usr/bin/env bash
# Re-fetch the pinned uPlot release from the npm registry and check that the
# vendored files are exactly that release (sha256 against SHA256SUMS).
#
#   scripts/fetch-uplot.sh           check only: fail loudly on any mismatch
#   scripts/fetch-uplot.sh --write   also copy the fetched files into vendor/uplot/
#                                    (then the check runs against SHA256SUMS again)
#
# Bumping the version: change UPLOT_VERSION, run with --write, regenerate SHA256SUMS
# with `sha256sum uPlot.esm.js uPlot.min.css LICENSE > SHA256SUMS` in the vendor dir,
# and review the diff.
set -euo pipefail

UPLOT_VERSION="1.6.32"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$here/pastalog/server/static/vendor/uplot"
sums="$vendor/SHA256SUMS"

write=0
case "${1:-}" in
  --write) write=1 ;;
  "") ;;
  *) echo "usage: $0 [--write]" >&2; exit 2 ;;
esac

command -v npm >/dev/null || { echo "fetch-uplot: npm is required" >&2; exit 1; }
[ -f "$sums" ] || { echo "fetch-uplot: missing $sums" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "uplot@$UPLOT_VERSION" >/dev/null)
tarball="$tmp/uplot-$UPLOT_VERSION.tgz"
[ -f "$tarball" ] || { echo "fetch-uplot: npm pack produced no $tarball" >&2; exit 1; }
tar -xzf "$tarball" -C "$tmp"

# Where each vendored file lives inside the npm package.
declare -A src=(
  [uPlot.esm.js]="package/dist/uPlot.esm.js"
  [uPlot.min.css]="package/dist/uPlot.min.css"
  [LICENSE]="package/LICENSE"
)

status=0
while read -r want name; do
  [ -n "$name" ] || continue
  fetched="$tmp/${src[$name]:?unknown file $name in SHA256SUMS}"
  got_fetched="$(sha256sum "$fetched" | cut -d' ' -f1)"
  if [ "$got_fetched" != "$want" ]; then
    echo "MISMATCH: uplot@$UPLOT_VERSION $name from npm is $got_fetched, SHA256SUMS says $want" >&2
    status=1
    continue
  fi
  if [ "$write" = 1 ]; then
    cp "$fetched" "$vendor/$name"
  fi
  got_vendored="$(sha256sum "$vendor/$name" 2>/dev/null | cut -d' ' -f1 || true)"
  if [ "$got_vendored" != "$want" ]; then
    echo "MISMATCH: vendored $name is ${got_vendored:-missing}, SHA256SUMS says $want" >&2
    status=1
  else
    echo "ok  $name  $want"
  fi
done < "$sums"

if [ "$status" != 0 ]; then
  echo "fetch-uplot: FAILED: vendored uPlot does not match uplot@$UPLOT_VERSION" >&2
  exit 1
fi
echo "fetch-uplot: vendor/uplot matches uplot@$UPLOT_VERSION"
