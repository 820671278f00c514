"""Records every message of the topic."""


def handler(event, context):
    for record in event["Records"]:
        sns = record["Sns"]
        print(f"audit: {sns['MessageId']} {sns['Message']}")
