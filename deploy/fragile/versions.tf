terraform {
  required_version = ">= 1.5"

  required_providers {
    # As deploy/modules/platform and deploy/modules/protect require.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.25, < 7"
    }
    # 2.5 added glob (doublestar) matching to archive_file excludes; data.tf relies on it.
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.5"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = var.tags
  }
}
