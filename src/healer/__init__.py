"""The healer Lambda: turns CloudWatch alarm notifications into one recorded, verified remediation.

``healer.app.handler`` is the entry point. Beside it: ``notification`` (parse), ``policy`` (decide),
``remediation`` (act), ``verification`` (verify), ``ledger`` (DynamoDB record), ``escalation`` (tell
people), ``config``, ``clock`` and ``clients``. The package imports only the standard library, boto3 and
``aws_lambda_powertools`` so that it can be zipped alone.
"""

__all__: list[str] = []
