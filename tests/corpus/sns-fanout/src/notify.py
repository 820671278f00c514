"""Turns a topic message into a notification line."""

import json


def handler(event, context):
    for record in event["Records"]:
        message = json.loads(record["Sns"]["Message"])
        print(f"notify: order {message['order']} is {message['status'].upper()}")
