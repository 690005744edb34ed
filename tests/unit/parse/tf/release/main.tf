terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

variable "github_owner" {
  type    = string
  default = "acme"
}

variable "prod_deploy_role_arn" {
  type    = string
  default = "arn:aws:iam::222222222222:role/release-deploy"
}

locals {
  name = "release"
  tags = {
    Environment = "production"
    Team        = "platform"
  }
}

resource "aws_kms_key" "artifacts" {
  description         = "release pipeline artifacts"
  enable_key_rotation = true
}

resource "aws_kms_alias" "artifacts" {
  name          = "alias/release-artifacts"
  target_key_id = aws_kms_key.artifacts.key_id
}

module "artifacts" {
  source      = "./modules/artifact-bucket"
  prefix      = "release-artifacts-"
  kms_key_arn = aws_kms_key.artifacts.arn
}

resource "aws_codestarconnections_connection" "github" {
  name          = "acme-github"
  provider_type = "GitHub"
}

resource "aws_iam_role" "pipeline" {
  name = "${local.name}-pipeline"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "codepipeline.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "pipeline" {
  name = "pipeline-access"
  role = aws_iam_role.pipeline.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "${module.artifacts.arn}/*"
      },
      {
        Effect   = "Allow"
        Action   = "codestar-connections:UseConnection"
        Resource = aws_codestarconnections_connection.github.arn
      },
      {
        Effect   = "Allow"
        Action   = "sts:AssumeRole"
        Resource = [aws_iam_role.build.arn, var.prod_deploy_role_arn]
      }
    ]
  })
}

resource "aws_iam_policy" "pipeline_logs" {
  name = "release-pipeline-logs"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "*"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "pipeline_logs" {
  role       = aws_iam_role.pipeline.name
  policy_arn = aws_iam_policy.pipeline_logs.arn
}

resource "aws_iam_role_policy_attachment" "pipeline_readonly" {
  role       = aws_iam_role.pipeline.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role" "build" {
  name = "${local.name}-build"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "codebuild.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  inline_policy {
    name = "build-logs"
    policy = jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "*"
      }]
    })
  }
}

resource "aws_cloudwatch_log_group" "build" {
  name              = "/aws/codebuild/release-build"
  retention_in_days = 90
}

resource "aws_codebuild_project" "verify" {
  name         = "release-verify"
  service_role = aws_iam_role.build.arn

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    compute_type = "BUILD_GENERAL1_SMALL"
    image        = "aws/codebuild/standard:7.0"
    type         = "LINUX_CONTAINER"
  }

  source {
    type      = "CODEPIPELINE"
    buildspec = <<-YAML
      version: 0.2
      phases:
        build:
          commands:
            - git verify-commit HEAD
    YAML
  }
}

resource "aws_codebuild_project" "build" {
  name         = "release-build"
  service_role = aws_iam_role.build.arn

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    compute_type    = "BUILD_GENERAL1_SMALL"
    image           = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/builder@sha256:4b8e5f2a7c1d9e3f6a0b8c2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f"
    type            = "LINUX_CONTAINER"
    privileged_mode = true

    environment_variable {
      name  = "STAGE"
      value = "prod"
    }

    environment_variable {
      name  = "NPM_TOKEN"
      value = "/release/npm-token"
      type  = "PARAMETER_STORE"
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.build.name
    }
  }

  source {
    type = "CODEPIPELINE"
  }
}

resource "aws_codepipeline" "release" {
  name          = local.name
  role_arn      = aws_iam_role.pipeline.arn
  pipeline_type = "V2"

  artifact_store {
    location = module.artifacts.bucket
    type     = "S3"

    encryption_key {
      id   = aws_kms_key.artifacts.arn
      type = "KMS"
    }
  }

  trigger {
    provider_type = "CodeStarSourceConnection"
    git_configuration {
      source_action_name = "Source"
      push {
        branches {
          includes = ["main"]
        }
      }
      pull_request {
        events = ["OPEN", "UPDATED"]
        branches {
          includes = ["main"]
        }
        file_paths {
          excludes = ["docs/**"]
        }
      }
    }
  }

  stage {
    name = "Source"

    action {
      name             = "Source"
      category         = "Source"
      owner            = "AWS"
      provider         = "CodeStarSourceConnection"
      version          = "1"
      output_artifacts = ["source"]

      configuration = {
        ConnectionArn        = aws_codestarconnections_connection.github.arn
        FullRepositoryId     = "${var.github_owner}/release"
        BranchName           = "main"
        OutputArtifactFormat = "CODEBUILD_CLONE_REF"
      }
    }
  }

  stage {
    name = "Build"

    action {
      name            = "VerifyCommit"
      category        = "Test"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      run_order       = 1
      input_artifacts = ["source"]

      configuration = {
        ProjectName = aws_codebuild_project.verify.name
      }
    }

    action {
      name             = "Build"
      category         = "Build"
      owner            = "AWS"
      provider         = "CodeBuild"
      version          = "1"
      run_order        = 2
      input_artifacts  = ["source"]
      output_artifacts = ["package"]
      role_arn         = aws_iam_role.build_action.arn

      configuration = {
        ProjectName = aws_codebuild_project.build.name
      }
    }
  }

  stage {
    name = "DeployProduction"

    before_entry {
      condition {
        result = "FAIL"
        rule {
          name = "DeployWindow"
          rule_type_id {
            category = "Rule"
            owner    = "AWS"
            provider = "DeploymentWindow"
            version  = "1"
          }
          configuration = {
            Cron     = "0 9-16 ? * MON-THU *"
            TimeZone = "Europe/London"
          }
        }
      }
    }

    on_failure {
      result = "ROLLBACK"
    }

    action {
      name      = "Approve"
      category  = "Approval"
      owner     = "AWS"
      provider  = "Manual"
      version   = "1"
      run_order = 1
    }

    action {
      name            = "Deploy"
      category        = "Deploy"
      owner           = "AWS"
      provider        = "CloudFormation"
      version         = "1"
      run_order       = 2
      input_artifacts = ["package"]
      role_arn        = var.prod_deploy_role_arn

      configuration = {
        ActionMode   = "CREATE_UPDATE"
        StackName    = "release-app"
        TemplatePath = "package::template.yaml"
        RoleArn      = "arn:aws:iam::222222222222:role/release-cfn-exec"
        Capabilities = "CAPABILITY_IAM"
      }
    }
  }

  tags = local.tags
}

resource "aws_iam_role" "build_action" {
  name = "${local.name}-build-action"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = aws_iam_role.pipeline.arn }
      Action    = "sts:AssumeRole"
    }]
  })
}
