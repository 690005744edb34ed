# payments-legacy: the pipeline as it was first written. Every control here is
# weak on purpose; PipeWarden reports each one.

resource "aws_s3_bucket" "legacy_artifacts" {
  bucket = "acme-payments-legacy-artifacts"
}

resource "aws_iam_role" "legacy_pipeline" {
  name = "payments-legacy-pipeline"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = ["codepipeline.amazonaws.com", "codebuild.amazonaws.com"] }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "legacy_pipeline" {
  name = "everything"
  role = aws_iam_role.legacy_pipeline.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["s3:*", "codebuild:*", "cloudformation:*"], Resource = "*" },
      { Effect = "Allow", Action = "iam:PassRole", Resource = "*" },
    ]
  })
}

resource "aws_codebuild_project" "legacy_build" {
  name         = "payments-legacy-build"
  service_role = aws_iam_role.legacy_pipeline.arn

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    compute_type    = "BUILD_GENERAL1_MEDIUM"
    image           = "node:20"
    type            = "LINUX_CONTAINER"
    privileged_mode = true

    environment_variable {
      name  = "DB_PASSWORD"
      value = "Payments-Legacy-2019!"
    }
  }

  logs_config {
    cloudwatch_logs {
      status = "DISABLED"
    }
  }

  source {
    type      = "CODEPIPELINE"
    buildspec = <<-YAML
      version: 0.2
      phases:
        install:
          commands:
            - curl -sSL https://get.example.com/install.sh | bash
            - npm install -g serverless
        build:
          commands:
            - npm ci && npm run build
      artifacts:
        files: ["**/*"]
    YAML
  }
}

resource "aws_codepipeline" "legacy" {
  name     = "${local.service}-legacy"
  role_arn = aws_iam_role.legacy_pipeline.arn

  artifact_store {
    location = aws_s3_bucket.legacy_artifacts.bucket
    type     = "S3"
  }

  stage {
    name = "Source"

    action {
      name             = "GitHub"
      category         = "Source"
      owner            = "ThirdParty"
      provider         = "GitHub"
      version          = "1"
      output_artifacts = ["source"]

      configuration = {
        Owner                = "acme-corp"
        Repo                 = "payments"
        Branch               = "main"
        OAuthToken           = var.github_token
        PollForSourceChanges = "false"
      }
    }
  }

  stage {
    name = "Build"

    action {
      name             = "Build"
      category         = "Build"
      owner            = "AWS"
      provider         = "CodeBuild"
      version          = "1"
      input_artifacts  = ["source"]
      output_artifacts = ["package"]

      configuration = {
        ProjectName = aws_codebuild_project.legacy_build.name
      }
    }
  }

  stage {
    name = "Production"

    action {
      name            = "DeployStack"
      category        = "Deploy"
      owner           = "AWS"
      provider        = "CloudFormation"
      version         = "1"
      input_artifacts = ["package"]

      configuration = {
        ActionMode   = "REPLACE_ON_FAILURE"
        StackName    = "payments"
        TemplatePath = "package::template.yaml"
        Capabilities = "CAPABILITY_IAM,CAPABILITY_NAMED_IAM"
        RoleArn      = local.deploy_role_arn
      }
    }

    action {
      name            = "DeployFrontend"
      category        = "Deploy"
      owner           = "AWS"
      provider        = "S3"
      version         = "1"
      input_artifacts = ["package"]

      configuration = {
        BucketName = "acme-payments-frontend"
        Extract    = "true"
      }
    }
  }
}

resource "aws_codepipeline_webhook" "legacy" {
  name            = "payments-legacy-github"
  authentication  = "UNAUTHENTICATED"
  target_action   = "GitHub"
  target_pipeline = aws_codepipeline.legacy.name

  filter {
    json_path    = "$.ref"
    match_equals = "refs/heads/{Branch}"
  }
}
