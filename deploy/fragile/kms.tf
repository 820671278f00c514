# The customer-managed key now lives in the platform module (deploy/modules/platform/kms.tf): it encrypts
# the topics, the ledger, the healer's DLQ and log group, and its policy lets CloudWatch Logs of this
# account and region use it, so the fragile function's and the API's log groups (cloudwatch.tf) use it
# too (module.platform.kms_key_arn): one key, as before.
