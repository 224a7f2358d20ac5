#!/usr/bin/env bash
# Submit a nightly run to an existing Ray cluster with the plain Ray Jobs CLI (gen1 submit does the
# same with a deterministic submission id and a local check of the manifest first).
# The cluster's nodes run the gen1-batch image (docker/Dockerfile), so the package is installed there;
# the driver runs on the head node and connects with --address auto.
#   HEAD=http://ray-head:8265 MANIFEST=s3://studio/jobs/night.jsonl OUTPUT=s3://studio/renders/night ./jobs/ray-job-submit.sh
set -euo pipefail
: "${HEAD:?Ray dashboard address, e.g. http://ray-head:8265}" "${MANIFEST:?manifest URL}" "${OUTPUT:?output URL}"
MODEL=${MODEL:-/models/animatediff-depth}
ray job submit --address "$HEAD" \
  --submission-id "gen1-$(date +%Y%m%d)" \
  --runtime-env-json "{\"env_vars\": {\"AWS_ENDPOINT_URL\": \"${AWS_ENDPOINT_URL:-}\"}}" \
  -- gen1 run "$MANIFEST" --output "$OUTPUT" --model "$MODEL" --address auto
