"""Answers any path of a REST API through a Lambda proxy integration."""

import json


def handler(event, context):
    body = {
        "resource": event["resource"],
        "path": event["path"],
        "method": event["httpMethod"],
        "proxy": (event.get("pathParameters") or {}).get("proxy"),
        "stage": event["requestContext"]["stage"],
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
