variable "name" {
  description = "Name of the HTTP API (its access log group is /aws/apigateway/NAME/access)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.name))
    error_message = "name must hold 1-128 of [A-Za-z0-9_-]."
  }
}

variable "function_name" {
  description = "Name of the function the API invokes (for the invoke permission and the descriptions)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must hold 1-64 of [A-Za-z0-9_-]."
  }
}

variable "integration_uri" {
  description = "ARN of what the $default route invokes: the function, or its alias qualifier."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$", var.integration_uri))
    error_message = "integration_uri must be a Lambda function ARN, optionally with a qualifier."
  }
}

variable "qualifier" {
  description = "The alias integration_uri names (its invoke permission is the alias's); null when it names the function itself."
  type        = string
  default     = null

  validation {
    condition     = var.qualifier == null || can(regex("^[A-Za-z0-9_-]{1,128}$", var.qualifier))
    error_message = "qualifier must be null or an alias name of 1-128 of [A-Za-z0-9_-]."
  }
}

variable "throttling_burst_limit" {
  description = "Burst limit (requests) of the API's default route."
  type        = number

  validation {
    condition     = var.throttling_burst_limit >= 1 && var.throttling_burst_limit <= 5000 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a whole number from 1 to 5000."
  }
}

variable "throttling_rate_limit" {
  description = "Steady-state rate limit (requests per second) of the API's default route."
  type        = number

  validation {
    condition     = var.throttling_rate_limit > 0 && var.throttling_rate_limit <= 10000
    error_message = "throttling_rate_limit must be above 0 and at most 10000 requests per second."
  }
}

variable "log_retention_days" {
  description = "Retention of the API's access log group, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the access log group (the platform's)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}
