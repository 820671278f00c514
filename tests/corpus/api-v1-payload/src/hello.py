"""Greets ?name= through an HTTP API integration left at payload format 1.0."""

import json
import os


def lambda_handler(event, context):
    name = (event.get("queryStringParameters") or {}).get("name", "World")
    body = {
        "message": f"{os.environ['GREETING']}, {name}!",
        "version": event.get("version"),
        "method": event.get("httpMethod"),
        "stage": event["requestContext"]["stage"],
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
