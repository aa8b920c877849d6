#!/usr/bin/env bash
# The AMI training instances launch from (LocalStack's EC2 boots nothing: the instances exist,
# change state and emit no agent reports). Its id goes to SSM for the deploy command:
#   serverless deploy --stage local --param="imageId=$(awslocal ssm get-parameter \
#     --name /spot-training/local/image-id --query Parameter.Value --output text)"
# Runs inside the LocalStack container once it is ready; safe to run again.
set -euo pipefail

NAME=spot-training-agent
PARAMETER=/spot-training/local/image-id

IMAGE_ID="$(awslocal ec2 describe-images --owners self --filters "Name=name,Values=$NAME" \
  --query 'Images[0].ImageId' --output text 2>/dev/null || true)"
if [ -z "$IMAGE_ID" ] || [ "$IMAGE_ID" = "None" ]; then
  IMAGE_ID="$(awslocal ec2 register-image --name "$NAME" --architecture arm64 \
    --root-device-name /dev/xvda \
    --block-device-mappings 'DeviceName=/dev/xvda,Ebs={VolumeSize=8,VolumeType=gp3}' \
    --query ImageId --output text)"
fi
awslocal ssm put-parameter --name "$PARAMETER" --type String --value "$IMAGE_ID" --overwrite >/dev/null
echo "spot-training: training image $IMAGE_ID (SSM $PARAMETER)"
