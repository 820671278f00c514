terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.25, < 7"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.5"
    }
  }
}

# As deploy/fragile: the region and tags come from variables; credentials and, for the local cloud,
# the endpoint (AWS_ENDPOINT_URL) come from the environment Terraform runs in.
provider "aws" {
  region = var.aws_region

  default_tags {
    tags = var.tags
  }
}
