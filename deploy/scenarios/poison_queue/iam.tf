# The worker's role, log group, logs and traces grants: the shared module; this stack adds the queues.
module "worker_role" {
  source = "../modules/function_role"

  function_name      = local.function_name
  role_purpose       = ", consume the orders queue and send to fulfilment"
  log_retention_days = var.log_retention_days
  kms_key_arn        = module.platform.kms_key_arn
}

# consume_orders: what the event source mapping does with the role — receive and delete the queue's
# messages, read its attributes.
data "aws_iam_policy_document" "consume_orders" {
  statement {
    sid       = "ConsumeOrdersQueue"
    effect    = "Allow"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.orders.arn]
  }
}

resource "aws_iam_role_policy" "consume_orders" {
  name   = "consume-orders"
  role   = module.worker_role.role_name
  policy = data.aws_iam_policy_document.consume_orders.json
}

# pass_orders_on: send good orders to the fulfilment queue.
data "aws_iam_policy_document" "pass_orders_on" {
  statement {
    sid       = "SendToFulfilment"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.fulfilment.arn]
  }
}

resource "aws_iam_role_policy" "pass_orders_on" {
  name   = "pass-orders-on"
  role   = module.worker_role.role_name
  policy = data.aws_iam_policy_document.pass_orders_on.json
}
