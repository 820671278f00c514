# Where the resources this stack declared itself before the shared modules (../modules) now live, so
# an existing state moves instead of being destroyed and created again.
moved {
  from = aws_iam_role.worker
  to   = module.worker_role.aws_iam_role.function
}

moved {
  from = aws_cloudwatch_log_group.worker
  to   = module.worker_role.aws_cloudwatch_log_group.function
}

moved {
  from = aws_iam_role_policy.logs
  to   = module.worker_role.aws_iam_role_policy.logs
}

moved {
  from = aws_iam_role_policy.xray
  to   = module.worker_role.aws_iam_role_policy.xray
}
