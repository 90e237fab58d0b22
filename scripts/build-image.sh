#!/usr/bin/env bash
# Builds the processing image ($OPENCLARIFY_IMAGE, default openclarify:latest)
# FROM scratch around the static release binary, and prints its size.
# Why this way: there is no registry to pull a builder or base image from, so
# cargo builds on the host and the image only copies the result (Dockerfile).
# Fails if the binary is not statically linked or the image is 25 MB or more.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MAX_BYTES=$((25 * 1000 * 1000))

build_release
# static-pie binaries make ldd say "statically linked"; plain static ones
# "not a dynamic executable". Anything else would need a libc in the image.
if ! ldd "$OPENCLARIFY" 2>&1 | grep -Eq 'statically linked|not a dynamic executable'; then
  echo "error: $OPENCLARIFY is dynamically linked:" >&2
  ldd "$OPENCLARIFY" >&2
  exit 1
fi
file "$OPENCLARIFY"

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$ROOT/Dockerfile" "$OPENCLARIFY" "$context/"
mkdir -p "$context/rootfs/tmp"
chmod 1777 "$context/rootfs/tmp"
bundle=/etc/ssl/certs/ca-certificates.crt
if [ -f "$bundle" ]; then
  mkdir -p "$context/rootfs/etc/ssl/certs"
  cp "$bundle" "$context/rootfs/etc/ssl/certs/"
else
  # reqwest 0.13 cannot build an HTTP client without CA certificates.
  echo "warning: no $bundle on this host; the image has no CA bundle, so model calls will fail" >&2
fi

docker build --quiet --tag "$IMAGE" "$context" >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
awk -v s="$size" -v i="$IMAGE" 'BEGIN { printf "image %s: %.1f MB (%d bytes)\n", i, s / 1e6, s }'
if [ "$size" -ge "$MAX_BYTES" ]; then
  echo "error: image is not under $((MAX_BYTES / 1000000)) MB" >&2
  exit 1
fi
