"""A function's execution role must trust Lambda: checked at CreateFunction and UpdateFunctionConfiguration.

AWS refuses a function whose role's trust policy does not let ``lambda.amazonaws.com`` assume it, with
``InvalidParameterValueException`` "The role defined for the function cannot be assumed by Lambda." moto
checks only that the role exists. :func:`check_execution_role` evaluates the trust policy with
:func:`~selfheal.cloud.iam_trust.trust_allows` for the Lambda service, with the condition keys a trust policy
commonly scopes Lambda by: ``aws:SourceAccount`` (the function's account) and ``aws:SourceArn`` (its
unqualified ARN). A condition on any other key cannot be evaluated here: the role is refused, and the message
names the keys after AWS's text. The trust policy is checked when the role is given, not again when Lambda
issues an environment's session (``credentials.py``).
"""

from __future__ import annotations

from .iam_policy import policy_document
from .iam_trust import condition_keys_beyond, trust_allows

__all__ = ["LAMBDA_SERVICE", "ROLE_REFUSED", "check_execution_role"]

LAMBDA_SERVICE = "lambda.amazonaws.com"
ROLE_REFUSED = "The role defined for the function cannot be assumed by Lambda."


def check_execution_role(account: str, partition: str, role_arn: str, function_arn: str) -> None:
    """Raise moto's ``InvalidParameterValueException`` when the role's trust policy does not let Lambda
    assume it for ``function_arn``. A malformed or missing role is left to moto's own checks."""
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account][partition].get_role_by_arn(role_arn)
    except Exception:  # moto answers a missing role with the same message, a malformed ARN with its own
        return
    try:
        trust = policy_document(role.assume_role_policy_document)
    except Exception:  # a trust policy that is not JSON lets nobody assume the role
        raise InvalidParameterValueException(ROLE_REFUSED) from None
    context = {"aws:SourceAccount": (account,), "aws:SourceArn": (function_arn,)}
    if trust_allows(trust, (), context, service=LAMBDA_SERVICE) == "allow":
        return
    unevaluated = condition_keys_beyond(trust, context, service=LAMBDA_SERVICE)
    if unevaluated:
        raise InvalidParameterValueException(
            f"{ROLE_REFUSED} (selfheal local cloud: the trust policy's conditions on "
            f"{', '.join(unevaluated)} are not evaluated here; only aws:SourceAccount and aws:SourceArn are)"
        )
    raise InvalidParameterValueException(ROLE_REFUSED)
