"""Counts the words of each uploaded text file and writes a report beside it."""

import json
import os
import urllib.parse

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        settings = json.loads(s3.get_object(Bucket=bucket, Key=os.environ["SETTINGS_KEY"])["Body"].read())
        words = len(s3.get_object(Bucket=bucket, Key=key)["Body"].read().split())
        report_key = f"{settings['report_prefix']}{key.rsplit('/', 1)[-1]}.json"
        s3.put_object(Bucket=bucket, Key=report_key, Body=json.dumps({"key": key, "words": words}))
        print(f"report {report_key}: {key} has {words} words")
