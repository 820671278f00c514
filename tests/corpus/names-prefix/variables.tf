variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix of the generated names."
  type        = string
  default     = "prefixed"
}
