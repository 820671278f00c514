# Where the resources this stack declared itself before the shared modules (../modules) now live, so
# an existing state moves instead of being destroyed and created again.
moved {
  from = aws_iam_role.pricing
  to   = module.pricing_role.aws_iam_role.function
}

moved {
  from = aws_cloudwatch_log_group.pricing
  to   = module.pricing_role.aws_cloudwatch_log_group.function
}

moved {
  from = aws_iam_role_policy.logs
  to   = module.pricing_role.aws_iam_role_policy.logs
}

moved {
  from = aws_iam_role_policy.xray
  to   = module.pricing_role.aws_iam_role_policy.xray
}

moved {
  from = aws_apigatewayv2_api.http
  to   = module.api.aws_apigatewayv2_api.http
}

moved {
  from = aws_apigatewayv2_integration.pricing
  to   = module.api.aws_apigatewayv2_integration.function
}

moved {
  from = aws_apigatewayv2_route.default
  to   = module.api.aws_apigatewayv2_route.default
}

moved {
  from = aws_apigatewayv2_stage.default
  to   = module.api.aws_apigatewayv2_stage.default
}

moved {
  from = aws_cloudwatch_log_group.api_access
  to   = module.api.aws_cloudwatch_log_group.access
}

moved {
  from = aws_lambda_permission.pricing_from_api
  to   = module.api.aws_lambda_permission.from_api
}
