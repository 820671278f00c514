# One customer-managed key encrypts the topics, the ledger, the DLQ and the healer's log group. An
# AWS-managed key (alias/aws/sns) cannot be used: its policy cannot be changed to let CloudWatch publish
# alarm notifications to an encrypted topic.
resource "aws_kms_key" "main" {
  description             = "${var.name}: selfheal topics, ledger, healer DLQ and log groups"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.kms_key.json
}

data "aws_iam_policy_document" "kms_key" {
  #checkov:skip=CKV_AWS_109:A key policy's resource is always "*" (the key itself); the root statement delegates to IAM.
  #checkov:skip=CKV_AWS_111:A key policy's resource is always "*" (the key itself); the root statement delegates to IAM.
  #checkov:skip=CKV_AWS_356:A key policy's resource is always "*" (the key itself).

  statement {
    sid       = "AccountAdministersKeyThroughIam"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # No source conditions on the two service statements: CloudWatch's alarm delivery to an encrypted
  # topic does not document them, and the key is only reachable through this module's topics.
  statement {
    sid       = "CloudWatchPublishesToEncryptedTopics"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"] # in a key policy "*" means this key

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }

  statement {
    sid       = "SnsUsesKeyForTopics"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"] # in a key policy "*" means this key

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
  }

  # Log groups of this account and region may use it: the healer's, and those of protected functions
  # whose teams choose to (kms_key_arn output).
  statement {
    sid       = "LogsEncryptsLogGroupsOfThisAccount"
    effect    = "Allow"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"] # in a key policy "*" means this key

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}
