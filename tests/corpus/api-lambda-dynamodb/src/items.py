"""CRUD on one DynamoDB table, behind an HTTP API (payload format 2.0)."""

import base64
import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def _reply(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def _body(event):
    raw = event.get("body") or "{}"
    return json.loads(base64.b64decode(raw) if event.get("isBase64Encoded") else raw)


def handler(event, context):
    method = event["requestContext"]["http"]["method"]
    item_id = event["pathParameters"]["id"]
    if method == "PUT":
        item = {**_body(event), "id": item_id}
        table.put_item(Item=item)
        return _reply(200, item)
    if method == "DELETE":
        table.delete_item(Key={"id": item_id})
        return {"statusCode": 204}
    found = table.get_item(Key={"id": item_id}).get("Item")
    return _reply(200, found) if found else _reply(404, {"message": f"no item {item_id}"})
