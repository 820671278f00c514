# The orders queue the worker consumes, and its dead-letter queue: a message received max_receive_count
# times without being processed moves there (SQS's redrive), so poison alone cannot block the queue.
resource "aws_sqs_queue" "orders" {
  name = local.queue_name
  # At least the worker's timeout, as Lambda requires of a mapped queue: a batch still being processed
  # must not become visible to another poll.
  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.orders_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue" "orders_dlq" {
  name                      = local.dlq_name
  message_retention_seconds = 1209600 # 14 days, SQS's maximum: time for a person to look
  sqs_managed_sse_enabled   = true
}

# Where the worker passes good orders on (to fulfilment, outside this scenario).
resource "aws_sqs_queue" "fulfilment" {
  name                      = local.fulfilment_name
  message_retention_seconds = var.message_retention_seconds
  sqs_managed_sse_enabled   = true
}
