# The healer's lambda subscription to the alarm topic (created after its invoke permission, so no
# notification is lost) now lives in the platform module: deploy/modules/platform/sns.tf.
