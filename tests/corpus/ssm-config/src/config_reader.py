"""Reads the application's configuration from Parameter Store once per execution environment."""

import os

import boto3


def _load():
    path = os.environ["CONFIG_PATH"]
    pages = boto3.client("ssm").get_paginator("get_parameters_by_path")
    found = {}
    for page in pages.paginate(Path=path, WithDecryption=True):
        for parameter in page["Parameters"]:
            name = parameter["Name"][len(path) + 1 :]
            value = parameter["Value"]
            found[name] = value.split(",") if parameter["Type"] == "StringList" else value
    return found


CONFIG = _load()


def handler(event, context):
    return {
        "greeting": CONFIG["greeting"],
        "features": CONFIG["features"],
        "api_key_length": len(CONFIG["api-key"]),
    }
