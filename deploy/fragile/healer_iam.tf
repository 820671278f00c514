# The healer's execution role selfheal-healer-role now lives in the platform module
# (deploy/modules/platform/healer_iam.tf: logs, ledger, registry, escalation-publish, dlq, kms, xray,
# one inline policy per concern). Its grants on the fragile function and on its alarm are the protect
# instance's inline policy protect-selfheal-fragile (deploy/modules/protect/iam.tf, called in alarms.tf):
# lambda:GetFunctionConfiguration and lambda:UpdateFunctionConfiguration on the function (and its
# qualifiers), cloudwatch:DescribeAlarms on selfheal-fragile-errors.
