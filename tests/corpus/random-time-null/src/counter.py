"""Counts invocations per counter name in DynamoDB."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    answer = table.update_item(
        Key={"name": event["counter"]},
        UpdateExpression="ADD hits :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    return {"hits": int(answer["Attributes"]["hits"]), "deployed_at": os.environ["DEPLOYED_AT"]}
