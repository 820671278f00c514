terraform {
  # optional() object attributes with defaults need 1.3; 1.5 as for deploy/fragile.
  required_version = ">= 1.5"

  required_providers {
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
