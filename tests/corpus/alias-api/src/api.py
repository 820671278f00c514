"""Says which version and alias served the request."""

import json
import os


def handler(event, context):
    body = {
        "release": os.environ["RELEASE"],
        "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "invoked": context.invoked_function_arn,
        "route": event["routeKey"],
    }
    return {"statusCode": 200, "body": json.dumps(body)}
