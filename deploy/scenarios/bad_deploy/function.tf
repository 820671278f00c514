# checkout, published on every change and served through the alias "live", which follows the newest
# version: raising failure_rate and applying is a bad deploy (a new, failing version behind live).

resource "aws_lambda_function" "checkout" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the HTTP API only; a DLQ applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:A scenario's function that reaches no private resources; a VPC adds cost and cold-start latency for nothing.
  #checkov:skip=CKV_AWS_173:The only variable is a non-secret failure-injection rate; a CMK adds a key grant for nothing.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile outside this scenario; the zip is built from the reviewed repository by Terraform itself.
  function_name = local.function_name
  description   = "bad_deploy scenario: checkout, behind the alias live; fails on purpose (FAILURE_RATE)."
  role          = module.checkout_role.role_arn
  runtime       = "python3.12"
  handler       = "checkout.handler"
  architectures = ["x86_64"]
  memory_size   = 128
  timeout       = 10

  filename         = data.archive_file.checkout.output_path
  source_code_hash = data.archive_file.checkout.output_base64sha256
  # Every change of code or configuration publishes a version; the alias follows the newest one, and
  # the healer's rollback_alias moves it back to the one before.
  publish = true

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = {
      FAILURE_RATE = tostring(var.failure_rate)
    }
  }

  tracing_config {
    mode = "Active"
  }

  # The encrypted, expiring log group first, and the role able to write to it.
  depends_on = [module.checkout_role]
}

resource "aws_lambda_alias" "live" {
  name             = local.alias_name
  description      = "The version checkout's callers (the HTTP API) use; the healer's rollback_alias moves it."
  function_name    = aws_lambda_function.checkout.function_name
  function_version = aws_lambda_function.checkout.version
}
