# Each zip holds its one module at its root: handlers storefront.handler and inventory.handler.
data "archive_file" "storefront" {
  type             = "zip"
  source_file      = "${path.module}/src/storefront.py"
  output_path      = "${path.root}/.build/${var.name}-storefront.zip"
  output_file_mode = "0644"
}

data "archive_file" "inventory" {
  type             = "zip"
  source_file      = "${path.module}/src/inventory.py"
  output_path      = "${path.root}/.build/${var.name}-inventory.zip"
  output_file_mode = "0644"
}
