#!/usr/bin/env bash
# Builds the processing image ($OPENCLARIFY_IMAGE, default openclarify:latest)
# and the demo model image ($OPENCLARIFY_MODEL_IMAGE, default
# openclarify-model:latest, docker/model.Dockerfile), both FROM scratch around
# the same static release binary, and prints their sizes.
# Why this way: there is no registry to pull a builder or base image from, so
# cargo builds on the host and the image only copies the result (Dockerfile).
# The binary has the `aws` feature (on by default: InvokeEndpoint, shadow
# endpoints, S3 inputs), which a processing job inside SageMaker needs.
# Fails if the binary is not statically linked or the processing image is
# 25 MB or more. The AWS crates had pushed it to 31.1 MB with the release
# profile (thin LTO, 16 codegen units); build_static links the image's binary
# with fat LTO and one codegen unit instead (see lib.sh), 22.3 MB.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MAX_BYTES=$((25 * 1000 * 1000)) # see above

build_static
OPENCLARIFY=$OPENCLARIFY_STATIC
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
cp "$ROOT/Dockerfile" "$ROOT/docker/model.Dockerfile" "$OPENCLARIFY" "$context/"
mkdir -p "$context/rootfs/tmp"
chmod 1777 "$context/rootfs/tmp"
bundle=/etc/ssl/certs/ca-certificates.crt
if [ -f "$bundle" ]; then
  mkdir -p "$context/rootfs/etc/ssl/certs"
  cp "$bundle" "$context/rootfs/etc/ssl/certs/"
else
  # The binary carries Mozilla's roots (webpki-root-certs), so HTTPS still
  # works; only private CAs added to the host's bundle would be missing.
  echo "note: no $bundle on this host; the image trusts only the roots built into the binary" >&2
fi

# Builds TAG from DOCKERFILE in the staged context, prints its size and
# fails when it is MAX_BYTES or more.
build_image() { # TAG DOCKERFILE MAX_BYTES
  docker build --quiet --tag "$1" --file "$context/$2" "$context" >/dev/null
  local size
  size=$(docker image inspect --format '{{.Size}}' "$1")
  awk -v s="$size" -v i="$1" 'BEGIN { printf "image %s: %.1f MB (%d bytes)\n", i, s / 1e6, s }'
  if [ "$size" -ge "$3" ]; then
    echo "error: image $1 is not under $(($3 / 1000000)) MB" >&2
    exit 1
  fi
}

build_image "$IMAGE" Dockerfile "$MAX_BYTES"
# The model image is the binary alone, so the same limit holds.
build_image "$MODEL_IMAGE" model.Dockerfile "$MAX_BYTES"
