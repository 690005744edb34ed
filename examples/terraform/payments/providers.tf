terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.tooling_account_id]

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

locals {
  service = "payments"
  tags = {
    Service     = local.service
    Environment = "production"
    Owner       = "platform-team"
  }
  deploy_role_arn = "arn:aws:iam::${var.production_account_id}:role/payments-deploy"
}
