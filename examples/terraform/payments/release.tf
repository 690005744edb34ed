# payments-release: the hardened pipeline. Commits are verified before anything
# builds them, artifacts are immutable and encrypted with a customer key, every
# action has its own role, and production is gated, approved and rolled back on
# failure.

data "aws_iam_policy_document" "artifact_key" {
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "ProductionDeployDecrypt"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.deploy_role_arn]
    }
  }
}

resource "aws_kms_key" "artifacts" {
  description         = "payments-release artifacts"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.artifact_key.json
}

resource "aws_kms_alias" "artifacts" {
  name          = "alias/payments-release-artifacts"
  target_key_id = aws_kms_key.artifacts.key_id
}

resource "aws_s3_bucket" "artifacts" {
  bucket              = "acme-payments-release-artifacts"
  object_lock_enabled = true
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    default_retention {
      mode = "COMPLIANCE"
      days = 30
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.artifacts.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_policy" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.artifacts.arn, "${aws_s3_bucket.artifacts.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "PipelineOnly"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.pipeline.arn }
        Action    = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
        Resource  = "${aws_s3_bucket.artifacts.arn}/*"
      },
    ]
  })
}

resource "aws_codestarconnections_connection" "github" {
  name          = "acme-corp-github"
  provider_type = "GitHub"
}

data "aws_iam_policy_document" "assume_from_pipeline" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.pipeline.arn]
    }
  }
}

resource "aws_iam_role" "pipeline" {
  name = "${local.service}-release-pipeline"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "codepipeline.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
      }
    }]
  })
}

resource "aws_iam_role_policy" "pipeline" {
  name = "assume-action-roles"
  role = aws_iam_role.pipeline.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Action = "sts:AssumeRole"
      Resource = [
        aws_iam_role.source_action.arn,
        aws_iam_role.build_action.arn,
        aws_iam_role.handoff_action.arn,
        local.deploy_role_arn,
      ]
    }]
  })
}

resource "aws_iam_role" "source_action" {
  name               = "${local.service}-release-source"
  assume_role_policy = data.aws_iam_policy_document.assume_from_pipeline.json
}

resource "aws_iam_role_policy" "source_action" {
  name = "use-connection"
  role = aws_iam_role.source_action.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "codestar-connections:UseConnection"
        Resource = aws_codestarconnections_connection.github.arn
      },
      {
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = "${aws_s3_bucket.artifacts.arn}/*"
      },
    ]
  })
}

resource "aws_iam_role" "build_action" {
  name               = "${local.service}-release-build"
  assume_role_policy = data.aws_iam_policy_document.assume_from_pipeline.json
}

resource "aws_iam_role_policy" "build_action" {
  name = "start-builds"
  role = aws_iam_role.build_action.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]
      Resource = [aws_codebuild_project.verify.arn, aws_codebuild_project.build.arn]
    }]
  })
}

resource "aws_iam_role" "handoff_action" {
  name               = "${local.service}-release-handoff"
  assume_role_policy = data.aws_iam_policy_document.assume_from_pipeline.json
}

resource "aws_iam_role_policy" "handoff_action" {
  name = "start-handoff-check"
  role = aws_iam_role.handoff_action.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]
      Resource = aws_codebuild_project.verify_handoff.arn
    }]
  })
}

resource "aws_iam_role" "codebuild" {
  name = "${local.service}-release-codebuild"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "codebuild.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "codebuild" {
  name = "build"
  role = aws_iam_role.codebuild.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.builds.arn}:*"
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "${aws_s3_bucket.artifacts.arn}/*"
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "builds" {
  name              = "/aws/codebuild/payments-release"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.artifacts.arn
}

locals {
  credential_identifiers = [
    "arn:aws:dataprotection::aws:data-identifier/AwsSecretKey",
    "arn:aws:dataprotection::aws:data-identifier/OpenSshPrivateKey",
    "arn:aws:dataprotection::aws:data-identifier/PgpPrivateKey",
    "arn:aws:dataprotection::aws:data-identifier/PkcsPrivateKey",
    "arn:aws:dataprotection::aws:data-identifier/PuttyPrivateKey",
  ]
}

resource "aws_cloudwatch_log_data_protection_policy" "builds" {
  log_group_name = aws_cloudwatch_log_group.builds.name
  policy_document = jsonencode({
    Name    = "mask-credentials"
    Version = "2021-06-01"
    Statement = [
      {
        Sid            = "Audit"
        DataIdentifier = local.credential_identifiers
        Operation      = { Audit = { FindingsDestination = {} } }
      },
      {
        Sid            = "Redact"
        DataIdentifier = local.credential_identifiers
        Operation      = { Deidentify = { MaskConfig = {} } }
      },
    ]
  })
}

resource "aws_codebuild_project" "verify" {
  name         = "${local.service}-release-verify"
  service_role = aws_iam_role.codebuild.arn

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    compute_type = "BUILD_GENERAL1_SMALL"
    image        = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
    type         = "LINUX_CONTAINER"
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.builds.name
    }
  }

  # The commands are in the pipeline action's BuildspecOverride: they change only
  # with the reviewed, drift-watched pipeline declaration.
  source {
    type = "CODEPIPELINE"
  }
}

resource "aws_codebuild_project" "verify_handoff" {
  name         = "${local.service}-release-verify-handoff"
  service_role = aws_iam_role.codebuild.arn

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    compute_type = "BUILD_GENERAL1_SMALL"
    image        = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
    type         = "LINUX_CONTAINER"
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.builds.name
    }
  }

  # The commands are in the pipeline action's BuildspecOverride: they change only
  # with the reviewed, drift-watched pipeline declaration.
  source {
    type = "CODEPIPELINE"
  }
}

resource "aws_codebuild_project" "build" {
  name         = "${local.service}-release-build"
  service_role = aws_iam_role.codebuild.arn

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    compute_type = "BUILD_GENERAL1_MEDIUM"
    image        = "${var.tooling_account_id}.dkr.ecr.${var.region}.amazonaws.com/build-images/node@sha256:9f2d4b6a8c0e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a"
    type         = "LINUX_CONTAINER"

    environment_variable {
      name  = "NPM_TOKEN"
      value = "payments/npm-token"
      type  = "SECRETS_MANAGER"
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.builds.name
    }
  }

  source {
    type      = "CODEPIPELINE"
    buildspec = "buildspec/release.yml"
  }
}

resource "aws_codepipeline" "release" {
  name           = "${local.service}-release"
  role_arn       = aws_iam_role.pipeline.arn
  pipeline_type  = "V2"
  execution_mode = "QUEUED"

  artifact_store {
    location = aws_s3_bucket.artifacts.bucket
    type     = "S3"

    encryption_key {
      id   = aws_kms_alias.artifacts.arn
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
      role_arn         = aws_iam_role.source_action.arn

      configuration = {
        ConnectionArn        = aws_codestarconnections_connection.github.arn
        FullRepositoryId     = var.repository
        BranchName           = "main"
        OutputArtifactFormat = "CODEBUILD_CLONE_REF"
        DetectChanges        = "false"
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
      role_arn        = aws_iam_role.build_action.arn

      configuration = {
        ProjectName       = aws_codebuild_project.verify.name
        BuildspecOverride = <<-YAML
          version: 0.2
          phases:
            build:
              commands:
                - aws ssm get-parameter --name /payments/allowed-signers --query Parameter.Value --output text > /tmp/allowed_signers
                - pipewarden verify-commit --repo . --commit "$CODEBUILD_RESOLVED_SOURCE_VERSION" --allowed-signers /tmp/allowed_signers
        YAML
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
        EnvironmentVariables = jsonencode([
          { name = "RELEASE_CHANNEL", value = "stable", type = "PLAINTEXT" },
        ])
      }
    }
  }

  stage {
    name = "Approve"

    action {
      name     = "ReleaseManager"
      category = "Approval"
      owner    = "AWS"
      provider = "Manual"
      version  = "1"

      configuration = {
        CustomData = "Approve the payments release for production."
      }
    }
  }

  stage {
    name = "Production"

    before_entry {
      condition {
        result = "FAIL"
        rule {
          name = "NoOpenIncidents"
          rule_type_id {
            category = "Rule"
            owner    = "AWS"
            provider = "CloudWatchAlarm"
            version  = "1"
          }
          configuration = {
            AlarmName = "payments-production-health"
          }
        }
      }
    }

    on_failure {
      result = "ROLLBACK"
    }

    action {
      name            = "VerifyHandoff"
      category        = "Test"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      run_order       = 1
      input_artifacts = ["package"]
      role_arn        = aws_iam_role.handoff_action.arn

      configuration = {
        ProjectName       = aws_codebuild_project.verify_handoff.name
        BuildspecOverride = <<-YAML
          version: 0.2
          phases:
            build:
              commands:
                - pipewarden verify-handoff package.zip --attestation attestation.intoto.jsonl --kms-key-id alias/payments-release-signing --expect-pipeline "arn:aws:codepipeline:${var.region}:${var.tooling_account_id}:payments-release" --max-age 24h
        YAML
      }
    }

    action {
      name            = "DeployStack"
      category        = "Deploy"
      owner           = "AWS"
      provider        = "CloudFormation"
      version         = "1"
      run_order       = 2
      input_artifacts = ["package"]
      role_arn        = local.deploy_role_arn
      region          = var.region

      configuration = {
        ActionMode   = "CREATE_UPDATE"
        StackName    = "payments"
        TemplatePath = "package::template.yaml"
        Capabilities = "CAPABILITY_IAM"
        RoleArn      = "arn:aws:iam::${var.production_account_id}:role/payments-cfn-execution"
      }
    }
  }
}
