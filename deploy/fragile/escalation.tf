# The escalation topic selfheal-escalations, where people subscribe (email, chat, pager) and the healer
# publishes when it will not or could not heal, now lives in the platform module:
# deploy/modules/platform/escalation.tf.
