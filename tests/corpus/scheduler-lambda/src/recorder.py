"""Records what EventBridge Scheduler passed to the function (the schedule target's Input) in DynamoDB."""

import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    payload = json.dumps(event, sort_keys=True)
    item = {"pk": f"schedule#{event['job']}", "note": event["note"], "payload": payload}
    table.put_item(Item=item)
    print(f"recorded {item['pk']}")
