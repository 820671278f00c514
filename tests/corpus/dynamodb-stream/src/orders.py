"""Writes orders, behind an HTTP API (payload format 2.0): PUT /orders/{id} with {"status": ...}."""

import base64
import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    raw = event.get("body") or "{}"
    body = json.loads(base64.b64decode(raw) if event.get("isBase64Encoded") else raw)
    item = {**body, "id": event["pathParameters"]["id"]}
    table.put_item(Item=item)
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(item)}
