# worker, fed by the orders queue through an event source mapping; a poison message fails its whole batch,
# again and again, until the healer's disable_event_source stops the mapping (the messages then wait in
# the queue for a person).

resource "aws_lambda_function" "worker" {
  #checkov:skip=CKV_AWS_116:Invoked by its event source mapping, whose queue has its own DLQ (redrive_policy); a function DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:A scenario's function that reaches only regional AWS services; a VPC adds cost and cold-start latency for nothing.
  #checkov:skip=CKV_AWS_173:The only variable is a queue URL, not a secret; a CMK adds a key grant for nothing.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this scenario; the zip is built from the reviewed repository by Terraform itself.
  function_name = local.function_name
  description   = "poison_queue scenario: passes orders on to fulfilment; a malformed one fails its batch."
  role          = module.worker_role.role_arn
  runtime       = "python3.12"
  handler       = "worker.handler"
  architectures = ["x86_64"]
  memory_size   = 128
  timeout       = var.worker_timeout_seconds

  filename         = data.archive_file.worker.output_path
  source_code_hash = data.archive_file.worker.output_base64sha256

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = {
      FULFILMENT_QUEUE_URL = aws_sqs_queue.fulfilment.url
    }
  }

  tracing_config {
    mode = "Active"
  }

  # The encrypted, expiring log group first, and the role able to write to it.
  depends_on = [module.worker_role]

  lifecycle {
    precondition {
      condition     = var.worker_timeout_seconds <= var.visibility_timeout_seconds
      error_message = "worker_timeout_seconds must not exceed visibility_timeout_seconds: Lambda refuses a mapping from a queue whose visibility timeout is shorter than the function's timeout."
    }
  }
}

resource "aws_lambda_event_source_mapping" "orders" {
  event_source_arn = aws_sqs_queue.orders.arn
  function_name    = aws_lambda_function.worker.arn
  batch_size       = var.batch_size
  enabled          = true

  # The role may read the queue before the first poll.
  depends_on = [aws_iam_role_policy.consume_orders]
}
