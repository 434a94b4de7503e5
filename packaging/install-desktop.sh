#!/usr/bin/env bash
# Puts Parley in the user's application menu: the bundle under ~/.local/opt/parley, the .desktop file and icons.
# Usage: bash packaging/install-desktop.sh [path/to/dist/parley]   (default: the bundle built by build.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:-$root/dist/parley}
[ -x "$bundle/parley" ] || { echo "no bundle at $bundle — run: bash packaging/build.sh" >&2; exit 2; }
data=${XDG_DATA_HOME:-$HOME/.local/share}
dest=$HOME/.local/opt/parley
mkdir -p "$dest" "$data/applications"
rm -rf "$dest" && cp -a "$bundle" "$dest"
for png in "$root"/resources/icons/parley-*.png; do
  size=$(basename "$png" .png); size=${size#parley-}
  mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
  cp "$png" "$data/icons/hicolor/${size}x${size}/apps/parley.png"
done
mkdir -p "$data/icons/hicolor/scalable/apps" && cp "$root/resources/icons/parley.svg" "$data/icons/hicolor/scalable/apps/parley.svg"
sed "s|@EXEC@|$dest/parley|" "$root/resources/parley.desktop" > "$data/applications/parley.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "Parley installed: $data/applications/parley.desktop -> $dest/parley"
