terraform {
  # optional() object attributes with defaults need 1.3; 1.5 as for deploy/fragile.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.25, < 7"
    }
  }
}
