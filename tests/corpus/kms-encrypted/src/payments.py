"""Records a payment in the encrypted table and queues it on the encrypted queue."""

import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
sqs = boto3.client("sqs")


def handler(event, context):
    payment = {"payment_id": event["payment_id"], "amount_cents": int(event["amount_cents"])}
    table.put_item(Item=payment)
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(payment))
    return {"recorded": payment["payment_id"]}
