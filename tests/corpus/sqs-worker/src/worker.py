"""Processes jobs from SQS; a job it cannot process is reported as a batch item failure."""

import json
import os

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    failures = []
    for record in event["Records"]:
        job = json.loads(record["body"])
        if job.get("poison"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        result = {"order": job["order"], "total": sum(job["amounts"])}
        sqs.send_message(QueueUrl=os.environ["RESULTS_QUEUE_URL"], MessageBody=json.dumps(result))
    return {"batchItemFailures": failures}
