variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix."
  type        = string
  default     = "aliased"
}

variable "release" {
  description = "Release label the function reports."
  type        = string
  default     = "2026.12.1"
}
