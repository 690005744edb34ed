provider "aws" {
  region = "us-west-2"
}

module "pipe" {
  source   = "./modules/pipe"
  for_each = toset(["web", "api"])
  service  = each.key
}
