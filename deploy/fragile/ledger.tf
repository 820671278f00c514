# The healer's ledger selfheal-ledger (pk/sk strings, TTL on expires_at, point-in-time recovery, the KMS
# key) now lives in the platform module: deploy/modules/platform/ledger.tf.
