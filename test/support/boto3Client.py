"""boto3 as a client of the API: each command prints what boto3 parsed, as JSON.

botocore checks every request against its own copy of SageMaker's model before sending it,
and parses every response with it: a body it refuses, or a response it cannot read, fails here.

  python3 boto3Client.py create <body.json>
  python3 boto3Client.py describe|stop <name>
  python3 boto3Client.py list <name-contains>
  python3 boto3Client.py tags <arn>

Endpoint, credentials and region come from SPOT_TRAINING_ENDPOINT and the AWS_* variables.
"""
import json
import os
import sys

import boto3
import botocore.exceptions


def main() -> None:
    client = boto3.client("sagemaker", endpoint_url=os.environ["SPOT_TRAINING_ENDPOINT"])
    command, argument = sys.argv[1], sys.argv[2]
    try:
        if command == "create":
            with open(argument, encoding="utf-8") as body:
                result = client.create_training_job(**json.load(body))
        elif command == "describe":
            result = client.describe_training_job(TrainingJobName=argument)
        elif command == "stop":
            result = client.stop_training_job(TrainingJobName=argument)
        elif command == "list":
            result = client.list_training_jobs(NameContains=argument, SortBy="Name", SortOrder="Ascending")
        elif command == "tags":
            result = client.list_tags(ResourceArn=argument)
        else:
            raise SystemExit(f"unknown command {command}")
    except botocore.exceptions.ClientError as error:
        result = {"Error": error.response["Error"]}
    result.pop("ResponseMetadata", None)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
