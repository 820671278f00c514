"""Publishes an update to the topic named by TOPIC_ARN."""

import json
import os

import boto3

sns = boto3.client("sns")


def handler(event, context):
    message = json.dumps({"update": event["update"]})
    answer = sns.publish(TopicArn=os.environ["TOPIC_ARN"], Message=message)
    return {"published": bool(answer["MessageId"]), "topic": os.environ["TOPIC_ARN"].rsplit(":", 1)[1]}
