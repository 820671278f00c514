# Each function's role, log group, logs and traces grants: the shared module. storefront may also invoke
# inventory, and nothing else.
module "storefront_role" {
  source = "../modules/function_role"

  function_name      = local.function_name
  role_purpose       = ", and invoke ${local.inventory_name}"
  log_retention_days = var.log_retention_days
  kms_key_arn        = module.platform.kms_key_arn
}

module "inventory_role" {
  source = "../modules/function_role"

  function_name      = local.inventory_name
  log_retention_days = var.log_retention_days
  kms_key_arn        = module.platform.kms_key_arn
}

# ask_inventory: invoke inventory (its unqualified ARN: storefront invokes no version or alias).
data "aws_iam_policy_document" "ask_inventory" {
  statement {
    sid       = "InvokeInventory"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.inventory.arn]
  }
}

resource "aws_iam_role_policy" "ask_inventory" {
  name   = "ask-inventory"
  role   = module.storefront_role.role_name
  policy = data.aws_iam_policy_document.ask_inventory.json
}
