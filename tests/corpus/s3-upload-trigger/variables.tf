variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix; the bucket also gets a random suffix."
  type        = string
  default     = "docs"
}
