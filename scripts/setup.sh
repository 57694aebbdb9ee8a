#!/usr/bin/env bash
# Prepares a machine to build, test and run vitc: the Vulkan loader, the Fashion-MNIST data set,
# SwiftShader (a CPU Vulkan driver, for machines without a GPU), Mesa's lavapipe (a second CPU
# Vulkan driver, which offers shader-f16 and subgroups), node_modules, and a final check that
# WebGPU gives an adapter. Idempotent: each step is skipped when its result is present.
# Works from any cwd, as root or through sudo, and non-interactively (CI=true, no stdin).
#
# Env: VITC_SETUP_NPM=always (force npm ci) | never (skip it); VITC_ADAPTER=swiftshader (probe
# SwiftShader even when a GPU is present). See docs/WEBGPU.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

APT_PACKAGES=(libvulkan1 dataset-fashion-mnist)
# What lavapipe's libvulkan_lvp.so links against, all in Debian 12's main archive.
LVP_LIB_PACKAGES=(libllvm15 libdrm2 libelf1 libexpat1 libwayland-client0 libx11-xcb1 libxcb1
  libxcb-dri3-0 libxcb-present0 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0
  libxshmfence1 libzstd1 zlib1g)
VENDOR_DIR=.vendor/swiftshader
ICD_JSON="$VENDOR_DIR/vk_swiftshader_icd.json"
LVP_DIR=.vendor/lavapipe
LVP_JSON="$LVP_DIR/lvp_icd.json"
STAMP=node_modules/.vitc-setup-stamp
export DEBIAN_FRONTEND=noninteractive
NPM_MODE="${VITC_SETUP_NPM:-auto}"

step() { printf 'setup: %s\n' "$*"; }
die() {
  printf 'setup: ERROR: %s\n' "$*" >&2
  exit 1
}

# Runs a command with its output kept in a log that is shown only if it fails.
quiet() {
  local log
  log="$(mktemp)"
  if "$@" >"$log" 2>&1 </dev/null; then
    rm -f "$log"
  else
    local rc=$?
    tail -n 30 "$log" >&2
    rm -f "$log"
    return "$rc"
  fi
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    # Without a terminal sudo cannot ask for a password; -n makes it fail fast instead of hanging.
    if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
  fi
fi

# Checked before running, not inside: a die() under quiet() would have its message swallowed.
need_root() {
  if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
    die "need root or sudo to run: $* (run this script as root, or do that step yourself)"
  fi
}
as_root() { "${SUDO[@]}" "$@"; }

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    step "apt-get update"
    need_root apt-get update
    quiet as_root apt-get update || die "apt-get update failed (is the network or a mirror reachable?)"
    APT_UPDATED=1
  fi
}

case "$NPM_MODE" in
  auto | always | never) ;;
  *) die "VITC_SETUP_NPM must be auto, always or never (got '$NPM_MODE')" ;;
esac

have_apt() { command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; }

# --- 1. Debian packages -------------------------------------------------------------------------
if have_apt; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}" "${LVP_LIB_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    step "apt packages present: ${APT_PACKAGES[*]}"
  else
    apt_update_once
    step "installing ${missing[*]}"
    need_root apt-get install "${missing[@]}"
    quiet as_root apt-get install -y --no-install-recommends "${missing[@]}" ||
      die "apt-get install ${missing[*]} failed"
  fi
else
  step "no apt-get: install the Vulkan loader (libvulkan.so.1) and Fashion-MNIST yourself"
fi

# --- 2. SwiftShader, taken from Debian's chromium-common without installing chromium ------------
icd_ok() {
  # The loader resolves a relative library_path against the json's folder; check it the same way.
  local json="${1:-$ICD_JSON}"
  [ -f "$json" ] && node -e '
    const fs = require("fs"), path = require("path");
    const json = process.argv[1];
    const lib = JSON.parse(fs.readFileSync(json, "utf8")).ICD.library_path;
    process.exit(fs.existsSync(path.resolve(path.dirname(json), lib)) ? 0 : 1);
  ' "$json"
}

if icd_ok; then
  step "SwiftShader present: $ICD_JSON"
elif ! have_apt; then
  step "no apt-get: cannot fetch SwiftShader; set VITC_SWIFTSHADER_ICD if you have one"
else
  step "fetching SwiftShader from chromium-common"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # As root, apt would hand the download to its sandbox user, which cannot write into mktemp's dir.
  dl=(apt-get download chromium-common)
  [ "$(id -u)" -eq 0 ] && dl=(apt-get -o APT::Sandbox::User=root download chromium-common)
  # A first failure usually means no package lists yet (fresh image): update once and retry.
  if ! (cd "$tmp" && "${dl[@]}" >/dev/null 2>&1 </dev/null); then
    apt_update_once
    (cd "$tmp" && quiet "${dl[@]}") || die "apt-get download chromium-common failed"
  fi
  quiet dpkg -x "$tmp"/chromium-common_*.deb "$tmp/x" || die "dpkg -x of chromium-common failed"
  src="$tmp/x/usr/lib/chromium"
  for f in libvk_swiftshader.so vk_swiftshader_icd.json; do
    [ -f "$src/$f" ] || die "chromium-common no longer ships usr/lib/chromium/$f"
  done
  mkdir -p "$VENDOR_DIR"
  cp "$src/libvk_swiftshader.so" "$src/vk_swiftshader_icd.json" "$VENDOR_DIR/"
  icd_ok || die "$ICD_JSON does not point at a library next to it"
  step "SwiftShader installed in $VENDOR_DIR"
fi

# --- 2b. lavapipe (Mesa's CPU Vulkan driver), unpacked into .vendor without installing Mesa -----
# It offers shader-f16 and subgroups, which SwiftShader does not, so the f16 kernels are tested on
# every machine (VITC_ADAPTER=lavapipe). Debian 12's own Mesa (22.3) is too old for Dawn; its
# backports suite has 25.x. The package is only downloaded, through a private package list, so
# the machine's apt sources and its Mesa stay as they were.
lvp_fetch() {
  local t="$1"
  # shellcheck disable=SC1091
  if [ "$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")" != bookworm ]; then
    # Newer releases carry a recent enough Mesa in their own suites.
    apt_update_once
    local dl=(apt-get download mesa-vulkan-drivers)
    [ "$(id -u)" -eq 0 ] && dl=(apt-get -o APT::Sandbox::User=root download mesa-vulkan-drivers)
    (cd "$t" && quiet "${dl[@]}") || return 1
  else
    local opts=(-o "Dir::Etc::SourceList=$t/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$t/lists" -o "Dir::Cache=$t/cache")
    [ "$(id -u)" -eq 0 ] && opts+=(-o APT::Sandbox::User=root)
    mkdir -p "$t/lists/partial" "$t/cache/archives/partial"
    echo "deb http://deb.debian.org/debian bookworm-backports main" >"$t/sources.list"
    quiet apt-get "${opts[@]}" update || return 1
    (cd "$t" && quiet apt-get "${opts[@]}" download mesa-vulkan-drivers) || return 1
  fi
  quiet dpkg -x "$t"/mesa-vulkan-drivers_*.deb "$t/x"
}

if icd_ok "$LVP_JSON"; then
  step "lavapipe present: $LVP_JSON"
elif ! have_apt; then
  step "no apt-get: cannot fetch lavapipe; set VITC_LAVAPIPE_ICD if you have a Mesa >= 24 one"
else
  step "fetching lavapipe (mesa-vulkan-drivers) from Debian"
  lvp_tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp:-}" "$lvp_tmp"' EXIT
  lvp_fetch "$lvp_tmp" || die "could not download mesa-vulkan-drivers (see the output above)"
  lib="$(find "$lvp_tmp/x" -name libvulkan_lvp.so | head -n 1)"
  [ -n "$lib" ] || die "mesa-vulkan-drivers no longer ships libvulkan_lvp.so"
  unresolved="$(ldd "$lib" | awk '/not found/ {print $1}' | tr '\n' ' ')"
  [ -z "$unresolved" ] || die "lavapipe needs libraries this machine lacks: $unresolved"
  mkdir -p "$LVP_DIR"
  cp "$lib" "$LVP_DIR/"
  version="$(dpkg-deb -f "$lvp_tmp"/mesa-vulkan-drivers_*.deb Version)"
  echo "$version" >"$LVP_DIR/VERSION"
  printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "./libvulkan_lvp.so", "api_version": "1.3.0" } }\n' \
    >"$LVP_JSON"
  icd_ok "$LVP_JSON" || die "$LVP_JSON does not point at a library next to it"
  step "lavapipe (Mesa $version) installed in $LVP_DIR"
fi

# --- 3. node_modules ----------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20 or newer"
command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js 20 or newer (it ships npm)"
lock_hash="$( (sha256sum package-lock.json; node --version) | sha256sum | cut -d' ' -f1)"

# node_modules installed by other means (no stamp yet) counts as current when npm's own record of
# it (node_modules/.package-lock.json) lists the packages of package-lock.json, versions and all.
installed_matches_lock() {
  [ -f node_modules/.package-lock.json ] && node -e '
    const fs = require("fs");
    const pkgs = (f) => JSON.parse(fs.readFileSync(f, "utf8")).packages ?? {};
    const want = pkgs("package-lock.json"), have = pkgs("node_modules/.package-lock.json");
    const key = (p) => p && `${p.version}|${p.resolved ?? ""}|${p.integrity ?? ""}`;
    // Optional packages for other platforms (esbuild, rolldown, ...) are absent from an install.
    const same = Object.keys(have).every((n) => key(want[n]) === key(have[n])) &&
      Object.keys(want).every((n) => n === "" || n in have || want[n].optional);
    process.exit(same ? 0 : 1);
  '
}

if [ "$NPM_MODE" = never ]; then
  step "npm ci skipped (VITC_SETUP_NPM=never)"
elif [ "$NPM_MODE" = auto ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$lock_hash" ]; then
  step "node_modules up to date"
elif [ "$NPM_MODE" = auto ] && [ ! -f "$STAMP" ] && installed_matches_lock; then
  echo "$lock_hash" >"$STAMP"
  step "node_modules up to date (matches package-lock.json)"
else
  step "npm ci (installs packages, then builds via prepare)"
  quiet npm ci --no-audit --no-fund || die "npm ci failed (output above)"
  echo "$lock_hash" >"$STAMP"
fi

# --- 4. Probe: does WebGPU give an adapter, the way runtime/device.ts looks for one? ------------
# Dawn only keeps the process alive while an adapter is referenced, so exit explicitly.
probe() {
  timeout 120 node --input-type=module -e '
    import { create, globals } from "webgpu";
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) process.exit(3);
    const device = await adapter.requestDevice();
    const i = adapter.info;
    const kind = /swiftshader/i.test(i.architecture + i.description) || i.isFallbackAdapter ? "cpu" : "gpu";
    console.log(`${kind}\t${i.description || i.device} (${i.vendor} ${i.architecture})`);
    device.destroy();
    process.exit(0);
  '
}

result=""
if [ "${VITC_ADAPTER:-auto}" != swiftshader ]; then
  # A machine without a GPU makes the loader print warnings here; they mean nothing yet.
  result="$(probe 2>/dev/null || true)"
fi
if [ "${result%%$'\t'*}" = gpu ]; then
  step "WebGPU adapter: ${result#*$'\t'} (hardware)"
else
  [ -f "$ICD_JSON" ] || die "no GPU adapter and no SwiftShader at $ICD_JSON (see step 2's output)"
  result="$(VK_ICD_FILENAMES="$ROOT/$ICD_JSON" VK_DRIVER_FILES="$ROOT/$ICD_JSON" probe)" ||
    die "WebGPU found no adapter even with SwiftShader ($ICD_JSON); is libvulkan1 installed? See docs/WEBGPU.md"
  step "WebGPU adapter: ${result#*$'\t'} (SwiftShader)"
fi
if [ -f "$LVP_JSON" ]; then
  result="$(VK_ICD_FILENAMES="$ROOT/$LVP_JSON" VK_DRIVER_FILES="$ROOT/$LVP_JSON" probe 2>/dev/null)" ||
    die "WebGPU found no adapter with lavapipe ($LVP_JSON); delete $LVP_DIR and run this again"
  step "WebGPU adapter: ${result#*$'\t'} (lavapipe, VITC_ADAPTER=lavapipe)"
fi
