variable "region" {
  description = "Region of the tooling account that runs the pipelines."
  type        = string
  default     = "eu-west-1"
}

variable "tooling_account_id" {
  type    = string
  default = "111111111111"
}

variable "production_account_id" {
  type    = string
  default = "222222222222"
}

variable "repository" {
  description = "GitHub repository (owner/name) of the payments service."
  type        = string
  default     = "acme-corp/payments"
}

variable "github_token" {
  description = "Personal access token of the legacy GitHub (v1) source. Do not use."
  type        = string
  sensitive   = true
}
