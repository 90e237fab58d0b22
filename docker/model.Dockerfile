# The demo model image: `openclarify demo-model`, a small logistic model on
# the German credit data behind SageMaker's inference contract (GET /ping,
# POST /invocations) on port 8080. It stands in for the shadow endpoint a
# Clarify job calls for post-training bias, SHAP and PDP.
#
# Same static binary as the processing image (Dockerfile), FROM scratch for
# the same reason: no registry to pull a base from. scripts/build-image.sh
# builds it from the same staged context as openclarify-model:latest.
# The server needs no CA bundle, /tmp or name lookups, so only the binary
# is copied. Extra arguments (e.g. --fail-every 7, --delay-ms 200) replace
# CMD; host and port default to 0.0.0.0:8080 either way.
#
# No HEALTHCHECK: scratch has no shell or curl to run one, and the
# processing job retries refused connections with backoff (8 attempts,
# 25 to 50 s in all) while the model starts.
FROM scratch
COPY openclarify /openclarify
EXPOSE 8080
ENTRYPOINT ["/openclarify", "demo-model"]
CMD ["--host", "0.0.0.0", "--port", "8080"]
