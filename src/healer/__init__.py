"""The healer Lambda: turns CloudWatch alarm notifications into one recorded, verified remediation.

``healer.app.handler`` is the entry point and ``healing`` runs the loop. Beside them: ``notification``
(parse), ``policy`` (decide), ``decisions`` (decision codes, incident statuses, advice), ``remediation``
(act), ``verification`` (verify), ``ledger`` (the incident record in DynamoDB, with ``incident``, ``claims``
and ``table``), ``escalation`` (tell people), ``config``, ``clock``, ``clients`` and ``log``. The package
imports only the standard library, boto3 and ``aws_lambda_powertools`` so that it can be zipped alone.
"""

__all__: list[str] = []
