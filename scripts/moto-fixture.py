"""Sets up and inspects a moto server for tests/aws.rs, with boto3 (a moto
dependency), so the tests check openclarify against an independent client.

    moto-fixture.py URL put-object BUCKET KEY FILE    upload FILE (bucket created if needed)
    moto-fixture.py URL create-model NAME             a SageMaker model
    moto-fixture.py URL create-endpoint NAME MODEL    an endpoint config and endpoint (InService)
    moto-fixture.py URL queue-results FILE...         InvokeEndpoint answers, one file per request, in order
    moto-fixture.py URL leftovers                     prints the endpoints and endpoint configs, one per line

Credentials and region are dummies; moto accepts any.
"""
import json
import sys
import urllib.request

import boto3


def client(url, service):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def main(url, command, *args):
    sagemaker = client(url, "sagemaker")
    if command == "put-object":
        bucket, key, path = args
        s3 = client(url, "s3")
        if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
            s3.create_bucket(Bucket=bucket)
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=key, Body=f.read())
    elif command == "create-model":
        (name,) = args
        sagemaker.create_model(
            ModelName=name,
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"},
            ExecutionRoleArn="arn:aws:iam::123456789012:role/model",
        )
    elif command == "create-endpoint":
        name, model = args
        main(url, "create-model", model)
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    elif command == "queue-results":
        results = []
        for path in args:
            with open(path) as f:
                results.append({"Body": f.read(), "ContentType": "text/csv"})
        request = urllib.request.Request(
            f"{url}/moto-api/static/sagemaker/endpoint-results",
            data=json.dumps({"results": results}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request).read()
    elif command == "leftovers":
        for e in sagemaker.list_endpoints()["Endpoints"]:
            print("endpoint", e["EndpointName"])
        for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]:
            print("endpoint-config", c["EndpointConfigName"])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main(*sys.argv[1:])
