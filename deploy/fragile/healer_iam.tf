# The healer's execution role selfheal-healer-role now lives in the platform module
# (deploy/modules/platform/healer_iam.tf: logs, ledger, registry, escalation-publish, dlq, kms, xray,
# one inline policy per concern, and sts:AssumeRole on the remediation roles under /selfheal/selfheal/). It
# holds no grant on the fragile function: the protect instance (deploy/modules/protect, called in alarms.tf)
# creates the function's remediation role, which trusts only the healer's role and carries the inline
# policy protect-selfheal-fragile: lambda:GetFunctionConfiguration and lambda:UpdateFunctionConfiguration
# on the function (and its qualifiers), cloudwatch:DescribeAlarms on selfheal-fragile-errors.
