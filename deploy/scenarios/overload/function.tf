# storefront, behind the HTTP API, asks inventory (a few slots: its reserved concurrency) for every
# request and waits for a free slot when all are busy. A slower inventory release (inventory_delay_ms)
# makes the storefront invocations queue for slots: their Duration p99 climbs, and the API's requests
# beyond storefront's own reserved concurrency are throttled.

resource "aws_lambda_function" "storefront" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the HTTP API only; a DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:A scenario's function that reaches only the Lambda API; a VPC adds cost and cold-start latency for nothing.
  #checkov:skip=CKV_AWS_173:The variables are a function name and two timings, not secrets; a CMK adds a key grant for nothing.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this scenario; the zip is built from the reviewed repository by Terraform itself.
  function_name = local.function_name
  description   = "overload scenario: storefront, asks inventory for every request and waits for a free slot."
  role          = module.storefront_role.role_arn
  runtime       = "python3.12"
  handler       = "storefront.handler"
  architectures = ["x86_64"]
  memory_size   = 128
  timeout       = 10

  filename         = data.archive_file.storefront.output_path
  source_code_hash = data.archive_file.storefront.output_base64sha256

  # The baseline the healer's clamp_concurrency lowers to concurrency_limit, and the next apply restores.
  reserved_concurrent_executions = var.storefront_concurrency

  environment {
    variables = {
      INVENTORY_FUNCTION = aws_lambda_function.inventory.function_name
      WAIT_SECONDS       = tostring(var.inventory_wait_seconds)
    }
  }

  tracing_config {
    mode = "Active"
  }

  # The encrypted, expiring log group first, and the role able to write to it.
  depends_on = [module.storefront_role]
}

resource "aws_lambda_function" "inventory" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by storefront only; a DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:A scenario's function that reaches nothing; a VPC adds cost and cold-start latency for nothing.
  #checkov:skip=CKV_AWS_173:The only variable is a delay in milliseconds, not a secret; a CMK adds a key grant for nothing.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this scenario; the zip is built from the reviewed repository by Terraform itself.
  function_name = local.inventory_name
  description   = "overload scenario: inventory, the downstream; a few slots, each call holds one for DELAY_MS."
  role          = module.inventory_role.role_arn
  runtime       = "python3.12"
  handler       = "inventory.handler"
  architectures = ["x86_64"]
  memory_size   = 128
  timeout       = 10

  filename         = data.archive_file.inventory.output_path
  source_code_hash = data.archive_file.inventory.output_base64sha256

  # Its slots: calls beyond them are throttled, and storefront queues for them.
  reserved_concurrent_executions = var.inventory_concurrency

  environment {
    variables = {
      DELAY_MS = tostring(var.inventory_delay_ms)
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [module.inventory_role]
}
