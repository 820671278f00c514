"""A quote of the day for a browser application."""

import json

QUOTES = ["Simplicity is prerequisite for reliability.", "Make it work, make it right, make it fast."]


def handler(event, context):
    index = len(event["requestContext"]["requestId"]) % len(QUOTES)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-quote-id": str(index)},
        "body": json.dumps({"quote": QUOTES[index], "route": event["routeKey"]}),
    }
