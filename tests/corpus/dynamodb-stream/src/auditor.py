"""Records every change of an order from the orders table's stream: the last event and both images' status.

An order whose new image says ``"status": "poison"`` is reported as a batch item failure, so the mapping
retries it and, retries exhausted, sends the batch's metadata to the on-failure queue.
"""

import os

import boto3

audit = boto3.resource("dynamodb").Table(os.environ["AUDIT_TABLE"])


def _status(image):
    return (image or {}).get("status", {}).get("S")


def handler(event, context):
    failures = []
    for record in event["Records"]:
        change = record["dynamodb"]
        new, old = change.get("NewImage"), change.get("OldImage")
        if _status(new) == "poison":
            failures.append({"itemIdentifier": change["SequenceNumber"]})
            continue
        entry = {
            "id": change["Keys"]["id"]["S"],
            "last_event": record["eventName"],
            "sequence": change["SequenceNumber"],
        }
        if _status(new):
            entry["status"] = _status(new)
        if _status(old):
            entry["old_status"] = _status(old)
        audit.put_item(Item=entry)
    return {"batchItemFailures": failures}
