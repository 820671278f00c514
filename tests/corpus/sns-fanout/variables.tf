variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix of the topic and functions."
  type        = string
  default     = "fanout"
}

variable "subscribers" {
  description = "Subscriber functions; each is the module src/<name>.py."
  type        = list(string)
  default     = ["audit", "notify"]
}
