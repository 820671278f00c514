# The permission that lets the alarm topic invoke the healer (AllowAlarmTopicInvoke) now lives in the
# platform module, beside the topic: deploy/modules/platform/sns.tf.
