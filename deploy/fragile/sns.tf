# The alarm topic selfheal-alarms (KMS-encrypted; its policy lets CloudWatch alarms of this account and
# region publish) now lives in the platform module: deploy/modules/platform/sns.tf. The fragile
# function's alarm notifies it on ALARM and OK (module.protect_fragile, alarms.tf).
