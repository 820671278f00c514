"""One-line descriptions of boto3 failures against a deployment: what went wrong and what to do."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from selfheal.loop.deployment import AwsTarget, no_local_credentials_message, unknown_profile_message

__all__ = ["describe_aws_error"]


def describe_aws_error(error: Exception, target: AwsTarget, subject: str = "") -> str:
    """A one-line description of a boto3 failure against ``target`` (``subject`` names the resource)."""
    about = f" ({subject})" if subject else ""
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        if target.is_local:
            return f"cannot reach the local cloud at {target.endpoint_url} — is `selfheal cloud` running?"
        return f"cannot reach AWS in {target.region}: {error}"
    if isinstance(error, ReadTimeoutError):
        return f"{target.description} did not answer in time{about}"
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        if target.endpoint_url is not None:
            return no_local_credentials_message(target.endpoint_url)
        return (
            "no credentials for AWS — configure a profile or AWS_ACCESS_KEY_ID, or use the local cloud "
            "(`selfheal up`, or --endpoint-url)"
        )
    if isinstance(error, ProfileNotFound):
        return unknown_profile_message(error.kwargs.get("profile"))
    if isinstance(error, NoRegionError):
        return "no AWS region — pass --region or set AWS_REGION"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code", "Error")
        message = details.get("Message", "")
        if code in ("ResourceNotFoundException", "404", "NotFound"):
            return f"not found in {target.description}{about}: {message or code} — is it deployed?"
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException"):
            return f"AWS rejected the credentials: {message or code}"
        if code in ("AccessDeniedException", "AccessDenied"):
            return f"access denied by {target.description}{about}: {message or code}"
        return f"{target.description} refused the request{about}: {code}: {message}"
    if isinstance(error, BotoCoreError):
        return f"AWS SDK error against {target.description}{about}: {error}"
    return f"{type(error).__name__}: {error}"
