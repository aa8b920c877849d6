#!/usr/bin/env bash
# An existing checkpoint bucket, as a user would have on AWS: private, encrypted, and sending
# its object events to EventBridge, where the stack's CheckpointManifestRule picks up the
# manifests (the `local` stage allows it: params.local.allowedBuckets in serverless.yml).
# Runs inside the LocalStack container once it is ready; safe to run again.
set -euo pipefail

BUCKET="${SPOT_TRAINING_DATA_BUCKET:-spot-training-local-data}"

if ! awslocal s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1; then
  awslocal s3api create-bucket --bucket "$BUCKET" >/dev/null
fi
awslocal s3api put-public-access-block --bucket "$BUCKET" \
  --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
awslocal s3api put-bucket-encryption --bucket "$BUCKET" \
  --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
awslocal s3api put-bucket-notification-configuration --bucket "$BUCKET" \
  --notification-configuration '{"EventBridgeConfiguration":{}}'
echo "spot-training: checkpoint bucket s3://$BUCKET ready (EventBridge notifications on)"
