#!/usr/bin/env bash
# The container image: build it, and run it in a smoke test.
#   scripts/image.sh deps    install what the rest needs, where it can (root + apt-get):
#                            buildah and mmdebstrap; .venv-deploy with the manifest
#                            validators (kubernetes-validate, checkov). Says what it skipped.
#   scripts/image.sh build   build the image ($FACEMATCH_IMAGE, default localhost/facematch:latest)
#   scripts/image.sh smoke   build it, then run it (tests/deploy/smoke.py): `facematch serve`
#                            as the image's unprivileged user, on its read-only root file
#                            system, in a network namespace with no network; /healthz, one
#                            real match over HTTP. Exits 0 with "SKIPPED: <reason>" when
#                            this machine cannot build or run images.
#   scripts/image.sh size    the image's size (after build)
# The engine is the first of docker, buildah, podman that works here (FACEMATCH_ENGINE
# picks one). Where no container registry answers, the base image (PYTHON_IMAGE) is
# bootstrapped from Debian packages with mmdebstrap. The host's pip configuration and
# CA bundle reach the install step as build secrets, never a layer (docs/deployment.md).
# FACEMATCH_NO_CACHE=1 builds every step again (dependencies' new releases included).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
IMAGE="${FACEMATCH_IMAGE:-localhost/facematch:latest}"
BASE_IMAGE="localhost/facematch-base:bookworm"
WORK="$ROOT/build/image"   # git-ignored
REGISTRY_IMAGE="docker.io/library/python:3.11-slim"

say() { echo "image.sh: $*" >&2; }
skip() { echo "SKIPPED: image smoke test: $*"; exit 0; }
is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
  command -v apt-get >/dev/null 2>&1 || { say "no apt-get: cannot install $*"; return 1; }
  is_root || { say "not root: cannot install $*"; return 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

cmd_deps() {
  local want=()
  command -v buildah >/dev/null 2>&1 || want+=(buildah)
  command -v mmdebstrap >/dev/null 2>&1 || want+=(mmdebstrap)
  if [ ${#want[@]} -gt 0 ]; then
    # mmdebstrap needs Debian's keyring to check what it downloads.
    if apt_install "${want[@]}" debian-archive-keyring; then say "installed ${want[*]}"
    else say "could not install ${want[*]}: the image smoke test will say SKIPPED"; fi
  fi
  # The validators live in a venv of their own: their pins never meet the service's.
  local py="${PYTHON:-python3}"
  local want_deploy="kubernetes-validate==1.37.0 checkov==3.3.30"
  if [ ! -x .venv-deploy/bin/python ] || [ "$(cat .venv-deploy/.pins 2>/dev/null)" != "$want_deploy" ]; then
    { "$py" -m venv .venv-deploy && .venv-deploy/bin/python -m pip install -q $want_deploy \
        && echo "$want_deploy" > .venv-deploy/.pins && say "installed .venv-deploy ($want_deploy)"; } \
      || say "could not install .venv-deploy: the manifest validation tests will skip"
  fi
}

# The first engine that works here. docker needs a daemon; buildah and podman
# build without one (chroot isolation where the kernel's cgroup mode refuses more).
engine() {
  if [ -n "${FACEMATCH_ENGINE:-}" ]; then echo "$FACEMATCH_ENGINE"; return 0; fi
  if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then echo docker; return 0; fi
  if command -v buildah >/dev/null 2>&1 && timeout 20 buildah info >/dev/null 2>&1; then echo buildah; return 0; fi
  if command -v podman >/dev/null 2>&1 && timeout 20 podman info >/dev/null 2>&1; then echo podman; return 0; fi
  return 1
}

have_image() {  # engine image
  case "$1" in
    docker) docker image inspect "$2" >/dev/null 2>&1 ;;
    buildah) buildah inspect --type image "$2" >/dev/null 2>&1 ;;
    podman) podman image exists "$2" ;;
  esac
}

# PYTHON_IMAGE: as given; else python:3.11-slim where a registry answers; else a
# Debian bookworm base (python3 3.11) made by mmdebstrap, imported once and reused
# (FACEMATCH_REBUILD_BASE=1 makes it again).
base_image() {
  local eng="$1"
  if [ -n "${PYTHON_IMAGE:-}" ]; then echo "$PYTHON_IMAGE"; return 0; fi
  if curl -s -o /dev/null --max-time 10 https://registry-1.docker.io/v2/ \
      && timeout 300 "$eng" pull -q "$REGISTRY_IMAGE" >/dev/null 2>&1; then
    echo "$REGISTRY_IMAGE"; return 0
  fi
  if [ -z "${FACEMATCH_REBUILD_BASE:-}" ] && have_image "$eng" "$BASE_IMAGE"; then
    say "no registry: reusing $BASE_IMAGE"; echo "$BASE_IMAGE"; return 0
  fi
  command -v mmdebstrap >/dev/null 2>&1 || { say "no container registry and no mmdebstrap (scripts/image.sh deps)"; return 1; }
  say "no container registry: bootstrapping $BASE_IMAGE from Debian packages (mmdebstrap)"
  mkdir -p "$WORK"
  local tar="$WORK/base.tar"
  # minbase: essential packages and apt; python3-venv for the build stage's venv.
  # Documentation, man pages and locales are left out of the file system.
  # merged-usr hook: /usr merged without the usrmerge package (and the perl it pulls in).
  local hook=() h=/usr/share/mmdebstrap/hooks/merged-usr
  [ -d "$h" ] && hook=(--hook-dir="$h")
  mmdebstrap --variant=minbase --include=python3,python3-venv "${hook[@]}" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --aptopt='Acquire::Languages "none"' \
    bookworm "$tar" >"$WORK/mmdebstrap.log" 2>&1 || { tail -20 "$WORK/mmdebstrap.log" >&2; return 1; }
  case "$eng" in
    docker) docker import "$tar" "$BASE_IMAGE" >/dev/null ;;
    podman) podman import "$tar" "$BASE_IMAGE" >/dev/null ;;
    buildah)
      local ctr; ctr="$(buildah from scratch)"
      buildah add "$ctr" "$tar" / >/dev/null
      buildah commit -q "$ctr" "$BASE_IMAGE" >/dev/null
      buildah rm "$ctr" >/dev/null ;;
  esac
  rm -f "$tar"
  echo "$BASE_IMAGE"
}

# The host's pip configuration (pip config list: files and PIP_* variables) as one
# file for the install step, and its CA bundle; local paths it names (find-links,
# file:// indexes, constraint files) are mounted read-only at the same place where
# the engine can (buildah, podman) and left out where it cannot (docker).
pip_secrets() {
  local eng="$1" dir="$WORK/secrets"
  rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
  : >"$dir/pip.conf"; : >"$dir/ca.pem"; : >"$dir/mounts"
  local py="${PYTHON:-python3}"
  "$py" -m pip config list >"$dir/list" 2>/dev/null || true
  "$py" - "$dir" "$eng" <<'PY'
import ast, os, sys
from pathlib import Path
from urllib.parse import urlparse

out, engine = Path(sys.argv[1]), sys.argv[2]
sections: dict[str, dict[str, str]] = {}
env_values: dict[str, str] = {}
for line in (out / "list").read_text().splitlines():
    name, _, value = line.partition("=")
    section, _, key = name.partition(".")
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    if section == ":env:":
        env_values[key] = value
    else:
        sections.setdefault(section, {})[key] = value
sections.setdefault("global", {}).update(env_values)   # PIP_* variables win, as in pip
glob = sections["global"]
for var in ("https_proxy", "HTTPS_PROXY"):
    if os.environ.get(var) and "proxy" not in glob:
        glob["proxy"] = os.environ[var]
ca = glob.pop("cert", "") or os.environ.get("PIP_CERT") or os.environ.get("REQUESTS_CA_BUNDLE") \
    or os.environ.get("SSL_CERT_FILE") or ""
if ca and Path(ca).is_file():
    (out / "ca.pem").write_bytes(Path(ca).read_bytes())
    glob["cert"] = "/run/secrets/cacert"
mounts: set[str] = set()
for values in sections.values():
    for key in ("find-links", "extra-index-url", "index-url", "constraint", "requirement"):
        if key not in values:
            continue
        kept = []
        for token in str(values[key]).split():
            path = urlparse(token).path if token.startswith("file:") else token if token.startswith("/") else ""
            if not path:
                kept.append(token)
            elif Path(path).exists() and engine != "docker":
                kept.append(token)
                # An index's pages may link to files beside it (/opt/pypi/simple -> /opt/pypi/files).
                mounts.add(str(Path(path).parent) if key.endswith("index-url") else path)
            else:
                print(f"image.sh: pip {key} {token} left out of the build (not reachable from it)", file=sys.stderr)
        if kept:
            values[key] = " ".join(kept)
        else:
            del values[key]
text = "".join(f"[{s}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items()) for s, kv in sections.items() if kv)
(out / "pip.conf").write_text(text)
(out / "mounts").write_text("".join(f"{m}\n" for m in sorted(mounts)))
PY
  rm -f "$dir/list"
}

cmd_build() {
  local eng base
  eng="$(engine)" || { say "no working docker, buildah or podman (scripts/image.sh deps installs buildah)"; return 3; }
  base="$(base_image "$eng")" || return 3
  pip_secrets "$eng"
  local s="$WORK/secrets"
  local args=(--build-arg "PYTHON_IMAGE=$base" -t "$IMAGE"
    --secret "id=pipconf,src=$s/pip.conf" --secret "id=cacert,src=$s/ca.pem")
  [ -n "${EXTRAS+x}" ] && args+=(--build-arg "EXTRAS=$EXTRAS")
  [ -n "${FACEMATCH_NO_CACHE:-}" ] && args+=(--no-cache)   # the install step is cached by its text, not its inputs
  if [ "$eng" != docker ]; then
    # chroot isolation: no runtime or cgroup needed; docker format keeps HEALTHCHECK.
    args+=(--isolation "${BUILDAH_ISOLATION:-chroot}" --format docker --layers)
    while read -r m; do [ -n "$m" ] && args+=(-v "$m:$m:ro"); done <"$s/mounts"
  else
    export DOCKER_BUILDKIT=1   # build secrets need BuildKit
  fi
  say "building $IMAGE with $eng on $base"
  local t0=$SECONDS rc=0
  case "$eng" in
    buildah) buildah bud "${args[@]}" . || rc=$? ;;
    *) "$eng" build "${args[@]}" . || rc=$? ;;
  esac
  rm -rf "$s"
  [ "$rc" -eq 0 ] || { say "build failed ($rc)"; return "$rc"; }
  say "built $IMAGE in $((SECONDS - t0)) s"
  cmd_size "$eng"
}

cmd_size() {
  local eng="${1:-}"; [ -n "$eng" ] || eng="$(engine)"
  local bytes
  case "$eng" in
    docker) bytes="$(docker image inspect --format '{{.Size}}' "$IMAGE")" ;;
    podman) bytes="$(podman image inspect --format '{{.Size}}' "$IMAGE")" ;;
    buildah)  # its own figure is rounded text: the file system's bytes instead
      local ctr; ctr="$(buildah from --pull-never "$IMAGE")"
      bytes="$(du -sb "$(buildah mount "$ctr")" | cut -f1)"
      buildah umount "$ctr" >/dev/null; buildah rm "$ctr" >/dev/null ;;
  esac
  echo "image.sh: $IMAGE size $bytes bytes ($((bytes / 1000000)) MB, $((bytes / 1048576)) MiB, uncompressed)"
}

# The image's root file system as a folder (SMOKE_ROOTFS) and its config (SMOKE_CONFIG),
# for tests/deploy/smoke.py; CLEANUP undoes it.
CLEANUP=()
cleanup() { local c; for c in "${CLEANUP[@]}"; do eval "$c" || true; done; }
trap cleanup EXIT

rootfs() {
  local eng="$1" ctr
  SMOKE_CONFIG="$WORK/config.json"
  case "$eng" in
    buildah)
      buildah inspect --type image "$IMAGE" \
        | "${PYTHON:-python3}" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["Docker"]["config"]))' >"$SMOKE_CONFIG"
      ctr="$(buildah from --pull-never "$IMAGE")"; CLEANUP+=("buildah rm $ctr >/dev/null")
      SMOKE_ROOTFS="$(buildah mount "$ctr")"; CLEANUP=("buildah umount $ctr >/dev/null" "${CLEANUP[@]}") ;;
    podman)
      podman image inspect --format '{{json .Config}}' "$IMAGE" >"$SMOKE_CONFIG"
      SMOKE_ROOTFS="$(podman image mount "$IMAGE")"; CLEANUP+=("podman image unmount $IMAGE >/dev/null") ;;
    docker)
      docker image inspect --format '{{json .Config}}' "$IMAGE" >"$SMOKE_CONFIG"
      ctr="$(docker create "$IMAGE")"; CLEANUP+=("docker rm $ctr >/dev/null")
      SMOKE_ROOTFS="$WORK/rootfs"; rm -rf "$SMOKE_ROOTFS"; mkdir -p "$SMOKE_ROOTFS"
      CLEANUP+=("rm -rf $SMOKE_ROOTFS")
      docker export "$ctr" | tar -x -C "$SMOKE_ROOTFS" ;;
  esac
}

cmd_smoke() {
  is_root || skip "needs root (a network namespace, mounts and chroot); run it as root"
  local c eng
  for c in unshare chroot mount; do command -v "$c" >/dev/null 2>&1 || skip "no $c on this machine"; done
  unshare --net --mount true 2>/dev/null || skip "this machine refuses new network and mount namespaces (unshare)"
  eng="$(engine)" || skip "no working docker, buildah or podman (scripts/image.sh deps installs buildah)"
  if ! have_image "$eng" "$BASE_IMAGE" && [ -z "${PYTHON_IMAGE:-}" ] \
      && ! command -v mmdebstrap >/dev/null 2>&1 && ! curl -s -o /dev/null --max-time 10 https://registry-1.docker.io/v2/; then
    skip "no container registry and no mmdebstrap to make the base image (scripts/image.sh deps)"
  fi
  cmd_build
  # The host side (the test images, the HTTP client) runs in the repository's venv.
  scripts/install.sh test
  rootfs "$eng"
  # `podman run` cannot start containers under this kind of host's cgroup mode; a chroot
  # into the image's file system, in new network and mount namespaces, runs it anywhere.
  unshare --net --mount --fork -- .venv/bin/python -m tests.deploy.smoke \
    --rootfs "$SMOKE_ROOTFS" --config "$SMOKE_CONFIG"
}

case "${1:-}" in
  deps) cmd_deps ;;
  build) cmd_build ;;
  smoke) cmd_smoke ;;
  size) cmd_size ;;
  *) echo "usage: scripts/image.sh deps|build|smoke|size" >&2; exit 2 ;;
esac
