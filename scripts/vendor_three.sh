#!/usr/bin/env bash
# Vendor three.js (MIT) from the npm registry into vpatient/serve/static/vendor/three/ for the browser's 3D
# patient (glTF viewer): three.module.min.js, GLTFLoader.js and the BufferGeometryUtils.js it imports, plus the
# licence. Served by the app, never from a CDN. Needs npm at install time only; safe to run again.
# The examples' bare `from 'three'` imports are rewritten to relative paths, so that the page needs no import
# map (an inline script, which the app's Content-Security-Policy forbids).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${THREE_VERSION:-0.170.0}
DEST=vpatient/serve/static/vendor/three
if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$VERSION" ] \
  && ! grep -q "from 'three'" "$DEST/loaders/GLTFLoader.js" "$DEST/utils/BufferGeometryUtils.js"; then exit 0; fi
command -v npm >/dev/null 2>&1 || { echo "note: npm not found; the browser's 3D patient viewer needs three.js (scripts/vendor_three.sh)" >&2; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "three@$VERSION" >/dev/null && tar xzf "three-$VERSION.tgz")
mkdir -p "$DEST/loaders" "$DEST/utils"
cp "$tmp/package/build/three.module.min.js" "$DEST/three.module.min.js"
cp "$tmp/package/examples/jsm/loaders/GLTFLoader.js" "$DEST/loaders/GLTFLoader.js"
cp "$tmp/package/examples/jsm/utils/BufferGeometryUtils.js" "$DEST/utils/BufferGeometryUtils.js"
cp "$tmp/package/LICENSE" "$DEST/LICENSE"
sed -i "s#from 'three';#from '../three.module.min.js';#" "$DEST/loaders/GLTFLoader.js" "$DEST/utils/BufferGeometryUtils.js"
echo "$VERSION" > "$DEST/VERSION"
