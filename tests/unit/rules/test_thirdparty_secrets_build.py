"""Unit tests for the PW5xx-PW8xx rules and the shared secret detector."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from pipewarden.config import Config, RuleSettings
from pipewarden.model import (
    CodeBuildProject,
    EcrRepository,
    Finding,
    Inventory,
    KeyStyle,
    Loc,
    LogGroup,
    Secret,
    Unresolved,
)
from pipewarden.parse.declaration import parse_declaration
from pipewarden.rules import (
    build_image_unpinned,
    buildspec_risky_commands,
    ecr_scan_on_push,
    ecr_tag_mutable,
    lambda_action_unpinned,
    log_group_no_data_protection,
    plaintext_secret_in_action,
    secret_rotation,
    third_party_action_unvetted,
    third_party_output_unaudited,
)
from pipewarden.rules._api import Rule, RuleContext
from pipewarden.rules._build import attr_loc, is_third_party
from pipewarden.rules._secrets import (
    SecretHit,
    find_secret,
    find_secret_in_text,
    is_reference,
    looks_secret_name,
    secrets_manager_references,
    url_credentials,
)

# Realistic-looking but fabricated credentials.
AWS_KEY_ID = "AKIAZ3MQN5TWQ4JX7R2P"
GITHUB_CLASSIC = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ0bC2eF4hJ6"
GITHUB_FINE = (
    "github_pat_11ABCDEFG0123456789_" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
)
SLACK_BOT = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


class TestFindSecret:
    @pytest.mark.parametrize(
        ("key", "value", "kind", "prefix"),
        [
            ("Anything", AWS_KEY_ID, "AWS Access Key", "AKIA"),
            ("Note", f"key is {AWS_KEY_ID} here", "AWS Access Key", "AKIA"),
            ("GitToken", GITHUB_CLASSIC, "GitHub Token", "ghp_"),
            ("Other", GITHUB_FINE, "GitHub Token", "gith"),
            ("SigningMaterial", PRIVATE_KEY, "Private Key", ""),
            ("Webhook", SLACK_BOT, "Slack Token", "xoxb"),
            ("Session", JWT, "JSON Web Token", "eyJh"),
            ("DB_PASSWORD", "hunter2hunter", "secret-named literal", "hun"),
            ("ClientSecret", "q8Zr-1xT_77Lm", "secret-named literal", "q8Z"),
            ("api_key", "k3y9d8f7g6h5j4", "secret-named literal", "k3y"),
            ("GITHUB_PAT", "0123abcd-4567", "secret-named literal", "012"),
            (
                "RepoUrl",
                "https://deploy:s3cr3tP4ss@git.example.com/r.git",
                "Basic Auth Credentials",
                "s3",
            ),
            (
                "Headers",
                "Authorization: Bearer 9f8e7d6c5b4a39281706aBcD",
                "HTTP Authorization credential",
                "9f8e",
            ),
        ],
    )
    def test_detects(self, key: str, value: str, kind: str, prefix: str) -> None:
        hit = find_secret(key, value)
        assert hit is not None
        assert hit.kind == kind
        assert hit.masked.startswith(prefix)

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("DB_PASSWORD", "{{resolve:secretsmanager:prod/db:SecretString:password}}"),
            ("DB_PASSWORD", "{{resolve:ssm-secure:/prod/db/password:3}}"),
            ("Token", "{{resolve:ssm:/ci/token}}"),
            ("OAuthToken", "****"),
            ("DB_PASSWORD", "#{SourceVariables.DbPassword}"),
            ("DB_PASSWORD", "${DbPassword}"),
            ("DB_PASSWORD", "$DB_PASSWORD"),
            ("SecretToken", "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf"),
            ("DB_PASSWORD", "/prod/db/password"),
            ("DB_PASSWORD", "changeme"),
            ("DB_PASSWORD", "<your-password>"),
            ("API_TOKEN", "xxxxxxxx"),
            ("GITHUB_TOKEN_SECRET", "github-token"),
            ("SECRET_ARN", "prod-db-credentials-AbCdEf12"),
            ("TOKEN_TTL", "3600"),
            ("PASSWORD_REQUIRED", "true"),
            ("AuthenticationType", "OAUTH"),
            ("CommitId", "9fceb02d0ae598e95dc970b74767f19372d61af8"),
            (
                "ImageDigest",
                "sha256:9fceb02d0ae598e95dc970b74767f19372d61af89fceb02d0ae598e95dc970b7",
            ),
            ("BuildId", "codebuild:4f6c1e2a-9d0b-4c55-8f3a-1b2c3d4e5f60"),
            ("RoleArn", "arn:aws:iam::111122223333:role/deployer"),
            ("StackName", "APACDeployments"),
            ("RepoUrl", "https://${GIT_USER}:${GIT_TOKEN}@git.example.com/r.git"),
            ("UserParameters", '{"env": "prod", "bucket": "my-bucket"}'),
            ("Password", ""),
        ],
    )
    def test_ignores(self, key: str, value: str) -> None:
        assert find_secret(key, value) is None

    def test_auth_needs_entropy(self) -> None:
        assert find_secret("auth", "basic-mode") is None
        hit = find_secret("auth", "Zx9Qp2Lm7Rt4Vw8Ky3Nb6Hc1Jd5Gf0Ts")
        assert hit == SecretHit("secret-named literal", "Zx9Q…(32 chars)")

    def test_json_values_are_searched_by_key(self) -> None:
        hit = find_secret(
            "UserParameters", '{"env": "prod", "nested": {"api_key": "k3y9d8f7g6h5j4"}}'
        )
        assert hit is not None
        assert hit.kind == "secret-named literal"

    def test_masked_form_never_holds_the_secret(self) -> None:
        for value in (AWS_KEY_ID, GITHUB_CLASSIC, GITHUB_FINE, SLACK_BOT, JWT):
            hit = find_secret("x", value)
            assert hit is not None
            assert value not in hit.masked
            assert len(hit.masked.split("…")[0]) <= 4

    def test_hostile_json_does_not_raise(self) -> None:
        deep = "[" * 5000 + "]" * 5000
        assert find_secret("UserParameters", deep) is None


class TestFindSecretInText:
    def test_assignment_and_flag(self) -> None:
        hit = find_secret_in_text("export DB_PASSWORD=Pr0dPassw0rd!")
        assert hit is not None
        assert hit.masked == "Pr0…(13 chars)"
        hit = find_secret_in_text(
            "docker login -u admin --password S3cr3tPassw0rd registry.example.com"
        )
        assert hit is not None
        assert hit.kind == "secret-named literal"

    def test_known_format_anywhere(self) -> None:
        hit = find_secret_in_text(
            f"curl -H 'Authorization: token {GITHUB_CLASSIC}' https://api.github.com"
        )
        assert hit is not None
        assert hit.kind == "GitHub Token"

    @pytest.mark.parametrize(
        "text",
        [
            "export DB_PASSWORD=$(aws secretsmanager get-secret-value --secret-id db --query SecretString)",
            "echo $TOKEN | docker login --password-stdin registry.example.com",
            "git clone https://${GITHUB_TOKEN}@github.com/org/repo.git",
            "npm ci && npm test",
            "version: 0.2\nenv:\n  secrets-manager:\n    DB_PASSWORD: prod/db:password\n"
            "  parameter-store:\n    API_TOKEN: /ci/api-token\nphases:\n  build:\n    commands:\n      - make\n",
        ],
    )
    def test_references_in_text(self, text: str) -> None:
        assert find_secret_in_text(text) is None

    def test_buildspec_variables_section_is_searched(self) -> None:
        text = "version: 0.2\nenv:\n  secrets-manager:\n    X: a:b\n  variables:\n    API_KEY: abcd1234efgh5678\n"
        hit = find_secret_in_text(text)
        assert hit is not None
        assert hit.masked == "abcd…(16 chars)"


class TestHelpers:
    def test_names(self) -> None:
        for name in (
            "DB_PASSWORD",
            "ApiKey",
            "api-key",
            "client_secret",
            "GITHUB_PAT",
            "OAuthToken",
            "privateKey",
        ):
            assert looks_secret_name(name), name
        for name in ("PATH", "PATTERN", "SECRET_ARN", "TokenUrl", "Author", "ProjectName", "KEY"):
            assert not looks_secret_name(name), name

    def test_is_reference(self) -> None:
        assert is_reference("{{resolve:secretsmanager:x}}")
        assert is_reference("****")
        assert is_reference("#{Vars.Token}")
        assert is_reference("arn:aws:ssm:us-east-1:111122223333:parameter/x")
        assert not is_reference("hunter2")

    def test_secrets_manager_references(self) -> None:
        value = (
            "a {{resolve:secretsmanager:prod/db:SecretString:password}} b "
            "{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:111122223333:secret:Tok-a1b2c3:SecretString:t}}"
        )
        assert secrets_manager_references(value) == [
            "prod/db",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:Tok-a1b2c3",
        ]

    def test_url_credentials(self) -> None:
        assert url_credentials("https://user:s3cr3tP4ss@host/x") == "s3cr3tP4ss"
        assert url_credentials(f"https://{GITHUB_CLASSIC}@github.com/o/r") == GITHUB_CLASSIC
        assert url_credentials("https://github.com/o/r") is None
        assert url_credentials("https://user@host/x") is None
        assert url_credentials("https://user:${TOKEN}@host/x") is None
        assert url_credentials("https://user:password@host/x") is None


# -- rules -------------------------------------------------------------------

SUBJECT = "unit.json"


def _action(
    name: str,
    category: str,
    provider: str,
    *,
    owner: str = "AWS",
    version: str = "1",
    config: Mapping[str, Any] | None = None,
    ins: Iterable[str] = (),
    outs: Iterable[str] = (),
    **extra: Any,
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "name": name,
        "actionTypeId": {
            "category": category,
            "owner": owner,
            "provider": provider,
            "version": version,
        },
        "configuration": dict(config or {}),
        "inputArtifacts": [{"name": n} for n in ins],
        "outputArtifacts": [{"name": n} for n in outs],
    }
    action.update(extra)
    return action


def _run(
    rule: Rule,
    stages: list[dict[str, Any]],
    *,
    config: Config | None = None,
    name: str | Unresolved = "payments",
    **inventory: Any,
) -> list[Finding]:
    decl = {"name": name, "stages": stages, "pipelineType": "V2"}
    pipeline = parse_declaration(decl, loc=Loc(SUBJECT, "/pipeline", KeyStyle.API), source=SUBJECT)
    inv = Inventory(source_kind="unit test", pipelines=(pipeline,), **inventory)
    return list(rule.check(RuleContext(pipeline, inv, config or Config())))


def _statuses(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(str(f.status), f.loc.pointer) for f in findings]


SOURCE = _action(
    "Source",
    "Source",
    "CodeCommit",
    config={"RepositoryName": "r", "BranchName": "main"},
    outs=["Src"],
)


class TestThirdPartyActions:
    def test_allow_list_forms(self) -> None:
        stages = [
            {"name": "Source", "actions": [SOURCE]},
            {
                "name": "Build",
                "actions": [
                    _action("J", "Build", "JenkinsBuild", owner="Custom", version="3", ins=["Src"]),
                    _action("G", "Test", "GhostInspector", owner="ThirdParty", ins=["Src"]),
                ],
            },
        ]
        rule = third_party_action_unvetted.RULE
        assert len(_run(rule, stages)) == 2
        allow = Config(
            allowed_action_types=("Custom/JenkinsBuild/*", "Test/ThirdParty/GhostInspector/1")
        )
        assert _run(rule, stages, config=allow) == []
        wrong_category = Config(
            allowed_action_types=("Custom/JenkinsBuild/*", "Build/ThirdParty/GhostInspector/1")
        )
        found = _run(rule, stages, config=wrong_category)
        assert _statuses(found) == [("fail", "/pipeline/stages/1/actions/1/actionTypeId")]

    def test_github_v1_source_is_left_to_the_source_rules(self) -> None:
        stages = [
            {
                "name": "Source",
                "actions": [
                    _action(
                        "S",
                        "Source",
                        "GitHub",
                        owner="ThirdParty",
                        config={"OAuthToken": "****"},
                        outs=["Src"],
                    )
                ],
            }
        ]
        assert _run(third_party_action_unvetted.RULE, stages) == []


class TestLambdaPinning:
    @pytest.mark.parametrize(
        ("name", "pinned"),
        [
            ("fn", False),
            ("fn:$LATEST", False),
            ("fn:live", False),
            ("fn:12", True),
            ("111122223333:function:fn:3", True),
            ("arn:aws:lambda:us-east-1:111122223333:function:fn", False),
            ("arn:aws:lambda:us-east-1:111122223333:function:fn:9", True),
            (
                "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:fn:${FnVersion.Version}",
                True,
            ),
            ("arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:fn:${FnAlias}", False),
        ],
    )
    def test_problem(self, name: str, pinned: bool) -> None:
        assert (lambda_action_unpinned.problem(name) is None) is pinned

    def test_unresolved_and_placeholders_are_unknown(self) -> None:
        stages = [
            {"name": "Source", "actions": [SOURCE]},
            {
                "name": "Check",
                "actions": [
                    _action(
                        "A",
                        "Invoke",
                        "Lambda",
                        config={"FunctionName": Unresolved("!ImportValue fn", "imported")},
                    ),
                    _action("B", "Invoke", "Lambda", config={"FunctionName": "fn:${Alias}"}),
                ],
            },
        ]
        found = _run(lambda_action_unpinned.RULE, stages)
        assert [str(f.status) for f in found] == ["unknown", "unknown"]


class TestThirdPartyOutput:
    def _stages(self, middle: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"name": "Source", "actions": [SOURCE]},
            {
                "name": "Build",
                "actions": [
                    _action("J", "Build", "JenkinsBuild", owner="Custom", ins=["Src"], outs=["Out"])
                ],
            },
            {"name": "Middle", "actions": [middle]},
            {
                "name": "Deploy",
                "actions": [_action("D", "Deploy", "S3", config={"BucketName": "b"}, ins=["Pkg"])],
            },
        ]

    def test_through_codebuild_of_unknown_project_is_unknown(self) -> None:
        middle = _action(
            "Pack", "Build", "CodeBuild", config={"ProjectName": "pack"}, ins=["Out"], outs=["Pkg"]
        )
        found = _run(third_party_output_unaudited.RULE, self._stages(middle))
        assert _statuses(found) == [("unknown", "/pipeline/stages/3/actions/0/inputArtifacts/0")]
        assert "`Pack`" in found[0].message

    def test_through_known_non_verifying_project_fails(self) -> None:
        middle = _action(
            "Pack", "Build", "CodeBuild", config={"ProjectName": "pack"}, ins=["Out"], outs=["Pkg"]
        )
        project = CodeBuildProject(
            "pack",
            buildspec="version: 0.2\nphases:\n  build:\n    commands:\n      - zip -r p.zip .\n",
        )
        found = _run(
            third_party_output_unaudited.RULE,
            self._stages(middle),
            codebuild_projects={"pack": project},
        )
        assert _statuses(found) == [("fail", "/pipeline/stages/3/actions/0/inputArtifacts/0")]
        assert "through later actions" in found[0].message

    def test_verifying_project_passes(self) -> None:
        middle = _action(
            "Verify",
            "Build",
            "CodeBuild",
            config={"ProjectName": "verify"},
            ins=["Out"],
            outs=["Pkg"],
        )
        project = CodeBuildProject(
            "verify",
            buildspec="version: 0.2\nphases:\n  build:\n    commands:\n      - cosign verify-blob --key k.pub --signature s app.zip\n",
        )
        assert (
            _run(
                third_party_output_unaudited.RULE,
                self._stages(middle),
                codebuild_projects={"verify": project},
            )
            == []
        )

    def test_no_third_party_is_pass_even_with_unknown_projects(self) -> None:
        stages = [
            {"name": "Source", "actions": [SOURCE]},
            {
                "name": "Build",
                "actions": [
                    _action(
                        "B",
                        "Build",
                        "CodeBuild",
                        config={"ProjectName": "b"},
                        ins=["Src"],
                        outs=["Pkg"],
                    )
                ],
            },
            {
                "name": "Deploy",
                "actions": [_action("D", "Deploy", "S3", config={"BucketName": "b"}, ins=["Pkg"])],
            },
        ]
        assert _run(third_party_output_unaudited.RULE, stages) == []


class TestBuildImage:
    @pytest.mark.parametrize(
        ("image", "problem"),
        [
            ("aws/codebuild/standard:7.0", None),
            ("111122223333.dkr.ecr.us-east-1.amazonaws.com/builder@sha256:" + "a" * 64, None),
            ("111122223333.dkr.ecr.us-east-1.amazonaws.com/builder:1.4", "by tag `1.4`"),
            ("registry.example.com:5000/builder", "with no tag (`latest`)"),
            ("node", "with no tag (`latest`)"),
        ],
    )
    def test_image_problem(self, image: str, problem: str | None) -> None:
        assert build_image_unpinned.image_problem(image) == problem

    def test_commands_actions_pass(self) -> None:
        stages = [
            {"name": "Source", "actions": [SOURCE]},
            {
                "name": "Run",
                "actions": [_action("C", "Compute", "Commands", ins=["Src"], commands=["make"])],
            },
        ]
        assert _run(build_image_unpinned.RULE, stages) == []


class TestPlaintextSecretInAction:
    def test_condition_rules_and_unresolved_values(self) -> None:
        gate = {
            "conditions": [
                {
                    "result": "FAIL",
                    "rules": [
                        {
                            "name": "Check",
                            "ruleTypeId": {
                                "category": "Rule",
                                "owner": "AWS",
                                "provider": "Commands",
                                "version": "1",
                            },
                            "commands": [
                                f"curl -H 'Authorization: token {GITHUB_CLASSIC}' https://api.github.com"
                            ],
                            "configuration": {},
                        }
                    ],
                }
            ]
        }
        stages = [
            {"name": "Source", "actions": [SOURCE]},
            {
                "name": "Prod",
                "beforeEntry": gate,
                "actions": [
                    _action(
                        "Deploy",
                        "Deploy",
                        "S3",
                        config={
                            "BucketName": "b",
                            "ApiToken": Unresolved("!Ref Token", "parameter"),
                        },
                        ins=["Src"],
                    )
                ],
            },
        ]
        found = _run(plaintext_secret_in_action.RULE, stages)
        assert _statuses(found) == [
            ("fail", "/pipeline/stages/1/beforeEntry/conditions/0/rules/0/commands/0")
        ]
        assert GITHUB_CLASSIC not in found[0].message
        assert "ghp_…(40 chars)" in found[0].message


class TestSecretRotation:
    def test_secret_id(self) -> None:
        assert secret_rotation.secret_id("prod/db:password:AWSCURRENT") == "prod/db"
        assert (
            secret_rotation.secret_id(
                "arn:aws:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:db-AbC:pw"
            )
            == "arn:aws:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:db-AbC"
        )

    def _stages(self) -> list[dict[str, Any]]:
        return [
            {"name": "Source", "actions": [SOURCE]},
            {
                "name": "Run",
                "actions": [
                    _action(
                        "C",
                        "Compute",
                        "Commands",
                        ins=["Src"],
                        commands=["make"],
                        environmentVariables=[
                            {"name": "TOKEN", "value": "ci/token", "type": "SECRETS_MANAGER"}
                        ],
                    )
                ],
            },
        ]

    def test_rotation_states(self) -> None:
        rule = secret_rotation.RULE
        unknown_state = {"ci/token": Secret("ci/token", rotation_enabled=None)}
        assert [str(f.status) for f in _run(rule, self._stages(), secrets=unknown_state)] == [
            "unknown"
        ]
        off = {"ci/token": Secret("ci/token", rotation_enabled=False)}
        found = _run(rule, self._stages(), secrets=off)
        assert _statuses(found) == [
            ("fail", "/pipeline/stages/1/actions/0/environmentVariables/0/value")
        ]
        weekly = {"ci/token": Secret("ci/token", rotation_enabled=True, rotation_days=7)}
        assert _run(rule, self._stages(), secrets=weekly) == []
        strict = Config(rules={"PW603": RuleSettings(options={"max_rotation_days": 5})})
        assert [
            str(f.status) for f in _run(rule, self._stages(), secrets=weekly, config=strict)
        ] == ["fail"]
        assert [str(f.status) for f in _run(rule, self._stages())] == ["unknown"]


class TestLogGroupDataProtection:
    def test_policy_gap(self) -> None:
        ident = "arn:aws:dataprotection::aws:data-identifier/"
        policy = {
            "Statement": [
                {
                    "DataIdentifier": [ident + "AwsSecretKey", ident + "PkcsPrivateKey"],
                    "Operation": {"Audit": {}},
                },
                {
                    "DataIdentifier": [ident + "AwsSecretKey"],
                    "Operation": {"Deidentify": {"MaskConfig": {}}},
                },
            ]
        }
        assert (
            log_group_no_data_protection.policy_gap(policy)
            == "does not mask any private-key identifier"
        )
        policy["Statement"][1]["DataIdentifier"].append(ident + "OpenSshPrivateKey")
        assert log_group_no_data_protection.policy_gap(json.dumps(policy)) is None
        assert log_group_no_data_protection.policy_gap({"Statement": []}) == (
            "masks neither `AwsSecretKey` nor any private-key identifier"
        )

    def test_commands_log_group_follows_pipeline_name(self) -> None:
        stages = [
            {"name": "Source", "actions": [SOURCE]},
            {
                "name": "Run",
                "actions": [_action("C", "Compute", "Commands", ins=["Src"], commands=["make"])],
            },
        ]
        rule = log_group_no_data_protection.RULE
        groups = {"/aws/codepipeline/payments": LogGroup("/aws/codepipeline/payments")}
        found = _run(rule, stages, log_groups=groups)
        assert [str(f.status) for f in found] == ["fail"]
        assert "`/aws/codepipeline/payments`" in found[0].message
        unresolved = _run(
            rule, stages, name=Unresolved("!Ref Name", "parameter `Name` has no default")
        )
        assert [str(f.status) for f in unresolved] == ["unknown"]


class TestRiskyCommands:
    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            (
                "curl -fsSL https://x.example/i.sh | sudo bash -s -- --v 1",
                "pipes a download into a shell (`curl … | bash`)",
            ),
            (
                "wget -qO- https://x.example/i.sh | sh",
                "pipes a download into a shell (`wget … | sh`)",
            ),
            ("iex (iwr https://x.example/i.ps1)", "pipes a download into a shell (`iwr … | iex`)"),
            (
                "bash <(curl -s https://x.example/i.sh)",
                "pipes a download into a shell (`curl … | bash`)",
            ),
            (
                'sh -c "$(curl -fsSL https://x.example/i.sh)"',
                "pipes a download into a shell (`curl … | sh`)",
            ),
            ("pip install requests", "installs unpinned packages (`pip install requests`)"),
            ('pip install "django>=4"', "installs unpinned packages (`pip install django>=4`)"),
            (
                "npm install -g @aws-cdk/cli",
                "installs unpinned packages (`npm install -g @aws-cdk/cli`)",
            ),
            (
                "yarn global add serverless",
                "installs unpinned packages (`yarn global add serverless`)",
            ),
            ("gem install bundler", "installs unpinned packages (`gem install bundler`)"),
            (
                "go install golang.org/x/tools/cmd/goimports@latest",
                "installs unpinned packages (`go install golang.org/x/tools/cmd/goimports@latest`)",
            ),
            ("curl -sSLk https://x.example -o y", "disables TLS verification (`curl -k`)"),
            (
                "wget --no-check-certificate https://x.example",
                "disables TLS verification (`wget --no-check-certificate`)",
            ),
            (
                "pip install --trusted-host pypi.example x==1",
                "disables TLS verification (`pip --trusted-host`)",
            ),
            ("npm config set strict-ssl false", "disables TLS verification (`strict-ssl false`)"),
            (
                "git -c http.sslVerify=false clone https://x.example/r.git",
                "disables TLS verification (`http.sslVerify=false`)",
            ),
            (
                "export NODE_TLS_REJECT_UNAUTHORIZED=0",
                "disables TLS verification (`NODE_TLS_REJECT_UNAUTHORIZED=0`)",
            ),
            ('PYTHONHTTPSVERIFY: "0"', "disables TLS verification (`PYTHONHTTPSVERIFY=0`)"),
        ],
    )
    def test_risky(self, line: str, expected: str) -> None:
        assert buildspec_risky_commands.risks(line) == [expected]

    @pytest.mark.parametrize(
        "line",
        [
            "curl https://x.example/a.json | jq .",
            "curl -o a https://x.example/a || sh fallback.sh",
            "python -m pip install --user boto3==1.34.0",
            "pip install -r requirements.txt",
            "pip install -e .",
            "pip install --require-hashes -r req.lock",
            "npm install",
            "npm i -g typescript@5.4.5",
            "gem install bundler -v 2.5.0",
            "go install ./...",
            "curl -H 'X-Key: v' -o kubectl https://x.example",
            "# curl https://x.example | sh",
        ],
    )
    def test_safe(self, line: str) -> None:
        assert buildspec_risky_commands.risks(line) == []


class TestEcr:
    def _stages(self, tag: str) -> list[dict[str, Any]]:
        return [
            {
                "name": "Source",
                "actions": [
                    _action(
                        "Image",
                        "Source",
                        "ECR",
                        config={"RepositoryName": "base", "ImageTag": tag},
                        outs=["Img"],
                    )
                ],
            }
        ]

    def test_exclusions(self) -> None:
        repo = EcrRepository(
            "base", tag_mutability="IMMUTABLE_WITH_EXCLUSION", mutability_exclusions=("latest*",)
        )
        found = _run(ecr_tag_mutable.RULE, self._stages("latest"), ecr_repositories={"base": repo})
        assert [str(f.status) for f in found] == ["fail"]
        assert "excluded by `latest*`" in found[0].message
        assert (
            _run(ecr_tag_mutable.RULE, self._stages("v1.2.3"), ecr_repositories={"base": repo})
            == []
        )

    def test_registry_scanning(self) -> None:
        repo = EcrRepository("base", scan_on_push=False)
        rule = ecr_scan_on_push.RULE
        assert (
            _run(
                rule,
                self._stages("v1"),
                ecr_repositories={"base": repo},
                ecr_registry_scan_on_push=True,
            )
            == []
        )
        found = _run(
            rule,
            self._stages("v1"),
            ecr_repositories={"base": repo},
            ecr_registry_scan_on_push=False,
        )
        assert [str(f.status) for f in found] == ["fail"]
        unknown_repo = EcrRepository("base", scan_on_push=None)
        found = _run(rule, self._stages("v1"), ecr_repositories={"base": unknown_repo})
        assert [str(f.status) for f in found] == ["unknown"]


class TestHelpers2:
    def test_attr_loc_falls_back_without_positions(self) -> None:
        stages = [{"name": "Source", "actions": [SOURCE]}]
        pipeline = parse_declaration(
            {"name": "p", "stages": stages},
            loc=Loc(SUBJECT, "/pipeline", KeyStyle.API),
            source=SUBJECT,
        )
        ctx = RuleContext(pipeline, Inventory(source_kind="unit"), Config())
        fallback = Loc(SUBJECT, "/pipeline/stages/0")
        assert attr_loc(ctx, None, fallback, "Environment") == fallback
        resource = Loc("t.yaml", "/Resources/P", KeyStyle.CLOUDFORMATION)
        assert attr_loc(ctx, resource, fallback, "Environment") == fallback

    def test_is_third_party(self) -> None:
        stages = [
            {
                "name": "Source",
                "actions": [
                    _action("S", "Source", "GitHub", owner="ThirdParty", outs=["A"]),
                    _action("T", "Source", "Bitbucket", owner="Custom", outs=["B"]),
                ],
            }
        ]
        pipeline = parse_declaration(
            {"name": "p", "stages": stages},
            loc=Loc(SUBJECT, "/pipeline", KeyStyle.API),
            source=SUBJECT,
        )
        assert [is_third_party(a) for a in pipeline.actions()] == [False, True]


FIXTURES = Path(__file__).parents[2] / "rules" / "fixtures"
FAMILY_SLUGS = (
    "plaintext-secret-in-action",
    "codebuild-plaintext-secret",
    "source-url-credentials",
)


@pytest.mark.parametrize("slug", FAMILY_SLUGS)
def test_fixture_secrets_never_reach_results(slug: str) -> None:
    """The goldens of the secret rules hold masked forms, never a fixture's secret."""
    secrets = (
        GITHUB_CLASSIC[:12],
        "ghp_R8mT2vK9",
        "npm_Q7wE3rT9",
        "AKIAIOSFODNN7EXAMPLE",
        "Tr0ub4dor",
        "k3y-9d8f7g6h",
    )
    for golden in (FIXTURES / slug).glob("*.golden.json"):
        text = golden.read_text()
        for secret in secrets:
            assert secret not in text, (golden.name, secret)
