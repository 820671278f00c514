"""Records EventBridge deliveries in DynamoDB: scheduled heartbeats and transformed order events."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    if event.get("detail-type") == "Scheduled Event":
        item = {"pk": "heartbeat", "rule": event["resources"][0], "source": event["source"]}
    else:
        item = {"pk": f"order#{event['order']}", "kind": event["kind"], "total": event["total"]}
    table.put_item(Item=item)
    print(f"recorded {item['pk']}")
