variable "function_name" {
  description = "Name of the function the role and the log group are for (the role is FUNCTION_NAME-role, the group /aws/lambda/FUNCTION_NAME)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,59}$", var.function_name))
    error_message = "function_name must hold 1-59 of [A-Za-z0-9_-] (the role name FUNCTION_NAME-role must fit IAM's 64 characters)."
  }
}

variable "role_purpose" {
  description = "What the role may do besides its logs and traces, appended to its description (e.g. \", and consume the orders queue\"); empty for nothing else."
  type        = string
  default     = ", nothing else"

  validation {
    condition     = length(var.role_purpose) <= 200
    error_message = "role_purpose must be at most 200 characters."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the log group (the platform's: its key policy lets CloudWatch Logs use it)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}
