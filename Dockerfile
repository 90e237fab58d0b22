# The openclarify processing image: the static binary and nothing else.
#
# FROM scratch pulls nothing (there may be no registry to pull from) and
# leaves nothing to patch; the binary is linked +crt-static (scripts/build-image.sh)
# so it needs no libc in the image. Build it with scripts/build-image.sh,
# which stages this context:
#   openclarify                                    the static release binary, built with the
#                                                  `aws` feature (InvokeEndpoint, shadow
#                                                  endpoints, S3 inputs under the job role)
#   rootfs/etc/ssl/certs/ca-certificates.crt       the build host's CA bundle, where
#                                                  rustls-native-certs looks for it (if the
#                                                  host has one), so private CAs the host
#                                                  trusts are trusted here too; Mozilla's
#                                                  roots are built into the binary as well
#                                                  (webpki-root-certs), so HTTPS works
#                                                  without the bundle
#   rootfs/tmp/                                    empty, mode 1777: scratch has no /tmp
# No `# syntax=` line: it would make BuildKit fetch a frontend image.
#
# At run time Docker (and SageMaker) provide /etc/hosts, /etc/resolv.conf and
# /dev; name lookups go through reqwest's hickory resolver, which reads
# /etc/resolv.conf itself (glibc's NSS does not work in a static binary).
# The job's folders are mounts: /opt/ml/processing/input/{config,data},
# /opt/ml/processing/output and /opt/ml/output (failure message). The image
# runs as root like SageMaker's, and under any --user that can write those.
FROM scratch
COPY rootfs/ /
COPY openclarify /openclarify
ENV TMPDIR=/tmp
ENTRYPOINT ["/openclarify", "run"]
