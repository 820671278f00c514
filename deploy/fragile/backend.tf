# Partial S3 backend: the bucket, key and region are supplied at init time, e.g.
#
#   terraform init \
#     -backend-config=bucket=my-tf-state \
#     -backend-config=key=selfheal/fragile.tfstate \
#     -backend-config=region=us-east-1 \
#     -backend-config=use_lockfile=true
#
# `terraform init -backend=false` still works (validate, fmt, local experiments), and when this
# directory is called as a child module the block is ignored.
terraform {
  backend "s3" {}
}
