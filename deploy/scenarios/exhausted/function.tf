# pricing, served by the HTTP API; a bug fails FAILURE_RATE of its requests, and nothing in its
# playbook (set_env PRICE_CACHE=off, restart) touches that.

resource "aws_lambda_function" "pricing" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the HTTP API only; a DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:A scenario's function that reaches no private resources; a VPC adds cost and cold-start latency for nothing.
  #checkov:skip=CKV_AWS_173:The variables are a non-secret failure-injection rate and a cache switch; a CMK adds a key grant for nothing.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this scenario; the zip is built from the reviewed repository by Terraform itself.
  function_name = local.function_name
  description   = "exhausted scenario: pricing, with a bug no playbook step fixes (FAILURE_RATE)."
  role          = module.pricing_role.role_arn
  runtime       = "python3.12"
  handler       = "pricing.handler"
  architectures = ["x86_64"]
  memory_size   = 128
  timeout       = 10

  filename         = data.archive_file.pricing.output_path
  source_code_hash = data.archive_file.pricing.output_base64sha256

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = {
      FAILURE_RATE = tostring(var.failure_rate)
      PRICE_CACHE  = "on"
    }
  }

  tracing_config {
    mode = "Active"
  }

  # The encrypted, expiring log group first, and the role able to write to it.
  depends_on = [module.pricing_role]
}
