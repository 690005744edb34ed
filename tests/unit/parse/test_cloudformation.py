"""CloudFormation / CDK templates -> Inventory: intrinsics, identities, positions, hostile input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pipewarden.errors import InputError, ParseError
from pipewarden.model import (
    Bucket,
    CodeBuildProject,
    Gap,
    Inventory,
    KmsKey,
    ManagedPolicy,
    ObjectLock,
    Role,
    Unresolved,
    Value,
)
from pipewarden.parse import load_paths
from pipewarden.parse._yaml import load_yaml
from pipewarden.parse.cloudformation import (
    is_cloudformation,
    looks_like_cloudformation_yaml,
    parse_cloudformation_json,
    parse_cloudformation_yaml,
)

HERE = Path(__file__).parent
CFN = HERE / "cfn"
EXAMPLES = HERE.parents[2] / "examples" / "cloudformation"
CDK_TEMPLATE = EXAMPLES / "cdk.out" / "ReleasePipelineStack.template.json"

ACCOUNT = "${AWS::AccountId}"
REGION = "${AWS::Region}"
PIPELINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service/${{AWS::StackName}}-pipeline"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/ArtifactKey"
BUCKET = f"{ACCOUNT}-prod-artifacts"


def _line_of(text: str, needle: str, start_after: str | None = None) -> int:
    """1-based line of the first line containing ``needle`` (after ``start_after``)."""
    lines = text.splitlines()
    begin = 0
    if start_after is not None:
        begin = next(i for i, line in enumerate(lines) if start_after in line) + 1
    return next(i for i, line in enumerate(lines) if i >= begin and needle in line) + 1


@pytest.fixture(scope="module")
def release_yaml() -> str:
    return (CFN / "release.yaml").read_text()


@pytest.fixture(scope="module")
def release(release_yaml: str) -> Inventory:
    return parse_cloudformation_yaml(release_yaml, source="release.yaml")


def _parse(text: str, source: str = "t.yaml") -> Inventory:
    return parse_cloudformation_yaml(text, source=source)


# A template whose CodeBuild project's environment variables probe the resolver.
_PROBE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env: {Type: String, Default: prod}
  NoDefault: {Type: String}
  Names: {Type: CommaDelimitedList, Default: "alpha, beta,gamma"}
  Latest: {Type: "AWS::SSM::Parameter::Value<String>", Default: /app/latest}
Mappings:
  Stages:
    prod: {Bucket: prod-bucket}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  InUsEast1: !Equals [!Ref "AWS::Region", us-east-1]
  Loop1: !Condition Loop2
  Loop2: !Condition Loop1
Resources:
  Store:
    Type: AWS::S3::Bucket
    Properties: {BucketName: store-bucket}
  DevStore:
    Type: AWS::S3::Bucket
    Condition: IsDev
  Topic:
    Type: AWS::SNS::Topic
  Probe:
    Type: AWS::CodeBuild::Project
    Properties:
      Environment:
        EnvironmentVariables:
{vars}
"""


def _probe(**exprs: str) -> dict[str, Value]:
    lines = "\n".join(
        f"          - Name: {name}\n            Value: {expr}" for name, expr in exprs.items()
    )
    inventory = _parse(_PROBE.replace("{vars}", lines), "probe.yaml")
    project = inventory.codebuild_projects["Probe"]
    assert isinstance(project, CodeBuildProject)
    return {var.name: var.value for var in project.environment_variables}


# -- detection -----------------------------------------------------------------


def test_detection_helpers() -> None:
    assert is_cloudformation({"Resources": {}})
    assert is_cloudformation({"AWSTemplateFormatVersion": "2010-09-09"})
    assert not is_cloudformation({"pipeline": {}})
    assert not is_cloudformation(["Resources"])
    assert looks_like_cloudformation_yaml("# c\nResources:\n  A: {}\n")
    assert looks_like_cloudformation_yaml('"AWSTemplateFormatVersion": x\n')
    assert not looks_like_cloudformation_yaml("jobs:\n  Resources: 1\n")


# -- the YAML loader -------------------------------------------------------------


def test_short_form_tags_become_the_long_form() -> None:
    text = """\
a: !Ref Param
b: !GetAtt Role.Arn
c: !GetAtt [Stack, Outputs.Value]
d: !Sub "${AWS::Region}-x"
e: !Sub ["${A}", {A: !Ref B}]
f: !Join ["-", [a, b]]
g: !Select [0, !Split [",", "x,y"]]
h: !If [Cond, yes-branch, !Ref "AWS::NoValue"]
i: !And [!Equals [a, b], !Or [!Condition C, !Not [!Condition D]]]
j: !FindInMap [Map, Top, Second]
k: !ImportValue {"Fn::Sub": "${AWS::StackName}-out"}
l: !Base64 hello
m: !Cidr [10.0.0.0/16, 4, 8]
n: !GetAZs ""
o: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}
p: !GetAtt Bucket.Outputs.Deep.Name
"""
    data, _ = load_yaml(text, "tags.yaml")
    assert data == {
        "a": {"Ref": "Param"},
        "b": {"Fn::GetAtt": ["Role", "Arn"]},
        "c": {"Fn::GetAtt": ["Stack", "Outputs.Value"]},
        "d": {"Fn::Sub": "${AWS::Region}-x"},
        "e": {"Fn::Sub": ["${A}", {"A": {"Ref": "B"}}]},
        "f": {"Fn::Join": ["-", ["a", "b"]]},
        "g": {"Fn::Select": [0, {"Fn::Split": [",", "x,y"]}]},
        "h": {"Fn::If": ["Cond", "yes-branch", {"Ref": "AWS::NoValue"}]},
        "i": {
            "Fn::And": [
                {"Fn::Equals": ["a", "b"]},
                {"Fn::Or": [{"Condition": "C"}, {"Fn::Not": [{"Condition": "D"}]}]},
            ]
        },
        "j": {"Fn::FindInMap": ["Map", "Top", "Second"]},
        "k": {"Fn::ImportValue": {"Fn::Sub": "${AWS::StackName}-out"}},
        "l": {"Fn::Base64": "hello"},
        "m": {"Fn::Cidr": ["10.0.0.0/16", 4, 8]},
        "n": {"Fn::GetAZs": ""},
        "o": {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}},
        "p": {"Fn::GetAtt": ["Bucket", "Outputs.Deep.Name"]},
    }


def test_yaml_scalars_follow_yaml_rules_but_keys_stay_text() -> None:
    data, _ = load_yaml("v: 2010-09-09\nn: 12\nb: true\nz: ~\n123456789012: acct\nq: '12'\n", "s")
    assert data == {
        "v": "2010-09-09",
        "n": 12,
        "b": True,
        "z": None,
        "123456789012": "acct",
        "q": "12",
    }


def test_yaml_positions_point_at_keys_elements_and_through_aliases() -> None:
    text = "Base: &base\n  Key: value\n  List:\n    - one\n    - two\nCopy: *base\nMerged:\n  <<: *base\n  Own: 1\n"
    data, positions = load_yaml(text, "alias.yaml")
    assert data["Copy"] == data["Base"]
    assert data["Merged"] == {"Key": "value", "List": ["one", "two"], "Own": 1}
    assert positions.locate("/Base/Key") == (2, 3)
    assert positions.locate("/Base/List/1") == (5, 7)
    assert positions.locate("/Copy") == (6, 1)
    # under an alias, pointers resolve to where the anchored node is written
    assert positions.locate("/Copy/List/1") == (5, 7)
    assert positions.locate("/Merged/Key") == (2, 3)
    assert positions.locate("/Merged/Own") == (9, 3)
    assert positions.locate("/Base/Key/missing/deeper") == (2, 3)  # nearest ancestor


def test_alias_bomb_is_refused_without_expanding() -> None:
    # Nine levels of ten aliases each: 10**9 nodes once expanded. Expanding it would
    # not finish; the loader must refuse it from the shared node graph.
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    text = "Resources:\n  X:\n    Type: AWS::S3::Bucket\n" + "\n".join(lines) + "\n"
    with pytest.raises(ParseError, match="YAML aliases expand to more than 1000000 nodes"):
        _parse(text, "bomb.yaml")


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ParseError, match="alias refers to its own ancestor") as info:
        _parse("Resources:\n  A: &a\n    Type: AWS::S3::Bucket\n    Self: [*a]\n", "loop.yaml")
    assert info.value.line == 2


@pytest.mark.parametrize(
    "text",
    [
        "Resources:\n  X: " + "[" * 300 + "]" * 300 + "\n",
        "Resources:\n  X:\n"
        + "".join("    " + "  " * i + "- \n" for i in range(0, 1))
        + "    "
        + "- " * 400
        + "x\n",
    ],
    ids=["flow", "block"],
)
def test_deep_yaml_nesting_is_refused(text: str) -> None:
    with pytest.raises(ParseError, match="nesting"):
        _parse(text, "deep.yaml")


def test_deep_nesting_through_aliases_is_refused() -> None:
    # Each alias adds a level without nesting in the text.
    lines = ["l0: &l0 [x]"] + [f"l{i}: &l{i} [*l{i - 1}]" for i in range(1, 260)]
    with pytest.raises(ParseError, match="nesting deeper than 200 levels"):
        _parse("Resources: {}\n" + "\n".join(lines) + "\n", "deep-alias.yaml")


def test_deep_json_is_refused() -> None:
    deep: object = "x"
    for _ in range(300):
        deep = [deep]
    doc = {"Resources": {"X": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": deep}}}}
    with pytest.raises(ParseError, match="nesting deeper than 200 levels"):
        parse_cloudformation_json(doc, source="deep.json", text=json.dumps(doc))


def test_duplicate_keys_are_refused_with_their_line() -> None:
    text = (
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n  Bucket:\n    Type: AWS::SNS::Topic\n"
    )
    with pytest.raises(ParseError, match="duplicate key `Bucket`") as info:
        _parse(text, "dup.yaml")
    assert info.value.line == 4
    assert info.value.pointer == "/Resources/Bucket"
    assert str(info.value).startswith("dup.yaml:4: ")


def test_unknown_tag_is_refused_by_name() -> None:
    with pytest.raises(ParseError, match="unknown YAML tag `!Reff`") as info:
        _parse("Resources:\n  A:\n    Type: !Reff X\n", "tag.yaml")
    assert info.value.line == 3
    with pytest.raises(ParseError, match="python/object"):
        _parse("Resources:\n  A: !!python/object:os.system x\n", "tag.yaml")


def test_invalid_yaml_reports_the_line() -> None:
    with pytest.raises(ParseError, match="invalid YAML") as info:
        _parse("Resources:\n  A: [1, 2\n  B: 3\n", "broken.yaml")
    assert info.value.line == 3


# -- JSON and YAML agree; positions ------------------------------------------------


def test_json_and_yaml_give_the_same_inventory(release: Inventory) -> None:
    text = (CFN / "release.json").read_text()
    from_json = parse_cloudformation_json(json.loads(text), source="release.yaml", text=text)
    assert from_json.pipelines  # the comparison below is not vacuous
    assert dataclasses.replace(from_json, positions={}) == dataclasses.replace(
        release, positions={}
    )


def test_positions_of_a_configuration_key_in_yaml_and_json(
    release: Inventory, release_yaml: str
) -> None:
    pointer = "/Resources/Pipeline/Properties/Stages/1/Actions/0/Configuration/ProjectName"
    build = release.pipelines[0].stages[1].actions[0]
    assert (build.loc / "configuration" / "ProjectName").pointer == pointer

    yaml_line = _line_of(release_yaml, "ProjectName: !Ref BuildProject")
    assert release.positions["release.yaml"].locate(pointer) == (yaml_line, 17)

    text = (CFN / "release.json").read_text()
    inventory = parse_cloudformation_json(json.loads(text), source="release.json", text=text)
    spot = inventory.positions["release.json"].locate(pointer)
    assert spot is not None
    assert spot[0] == _line_of(text, '"ProjectName"')
    assert text.splitlines()[spot[0] - 1].strip() == '"ProjectName": {'


def test_positions_follow_elements_dropped_by_novalue(
    release: Inventory, release_yaml: str
) -> None:
    # Deploy-Prod's first element is `!If [IsDev, ..., !Ref AWS::NoValue]`; IsDev is
    # false, so the Deploy action is element 0 of the result but element 1 of the file.
    deploy = release.pipelines[0].stages[2].actions[0]
    assert deploy.name == "Deploy"
    pointer = (deploy.loc / "configuration" / "StackName").pointer
    assert pointer == "/Resources/Pipeline/Properties/Stages/2/Actions/0/Configuration/StackName"
    line, _ = release.positions["release.yaml"].locate(pointer) or (0, 0)
    assert line == _line_of(release_yaml, "StackName: !Join")


# -- intrinsic functions ------------------------------------------------------------


def test_sub_in_both_forms() -> None:
    got = _probe(
        PLAIN='!Sub "${AWS::Partition}:${AWS::Region}:${Env}:${!Literal}:${Store.Arn}"',
        LISTED='!Sub ["${Prefix}-${Store}", {Prefix: !Ref Env}]',
        SUFFIX='!Sub "https://s3.${AWS::URLSuffix}/${AWS::StackName}"',
    )
    assert got["PLAIN"] == f"aws:{REGION}:prod:${{Literal}}:arn:aws:s3:::store-bucket"
    assert got["LISTED"] == "prod-store-bucket"
    assert got["SUFFIX"] == "https://s3.amazonaws.com/${AWS::StackName}"


def test_join_select_split_find_in_map() -> None:
    got = _probe(
        JOINED='!Join ["", ["arn:", !Ref "AWS::Partition", ":s3:::", !Ref Store, "/*"]]',
        SELECTED="!Select [1, !Ref Names]",
        SPLIT='!Select [2, !Split ["/", "a/b/c"]]',
        MAPPED="!FindInMap [Stages, !Ref Env, Bucket]",
        MAPPED_DEFAULT="!FindInMap [Stages, dev, Bucket, {DefaultValue: fallback}]",
        MAPPED_REGION='!FindInMap [Stages, !Ref "AWS::Region", Bucket]',
        LISTED="!Ref Names",
        ENCODED="!Base64 hello",
    )
    assert got["JOINED"] == "arn:aws:s3:::store-bucket/*"
    assert got["SELECTED"] == "beta"
    assert got["SPLIT"] == "c"
    assert got["MAPPED"] == "prod-bucket"
    assert got["MAPPED_DEFAULT"] == "fallback"
    assert got["MAPPED_REGION"] == Unresolved(
        'Fn::FindInMap ["Stages",{"Ref":"AWS::Region"},"Bucket"]',
        "Fn::FindInMap key `${AWS::Region}` is known only at deployment",
    )
    assert got["LISTED"] == '["alpha","beta","gamma"]'
    assert got["ENCODED"] == "aGVsbG8="


def test_if_with_known_and_unknown_conditions() -> None:
    got = _probe(
        KNOWN="!If [IsProd, production, development]",
        NEGATED="!If [IsDev, development, production]",
        SAME="!If [InUsEast1, same, same]",
        DIFFER="!If [InUsEast1, east, elsewhere]",
        LOOP="!If [Loop1, a, b]",
    )
    assert got["KNOWN"] == "production"
    assert got["NEGATED"] == "production"
    assert got["SAME"] == "same"
    assert got["DIFFER"] == Unresolved(
        "Fn::If InUsEast1", "Fn::If on condition `InUsEast1` whose branches differ"
    )
    assert got["LOOP"] == Unresolved(
        "Fn::If Loop1", "Fn::If on condition `Loop1` whose branches differ"
    )


def test_novalue_removes_the_key() -> None:
    text = _PROBE.replace("{vars}", "          - Name: X\n            Value: x").replace(
        "      Environment:",
        '      ServiceRole: !If [IsProd, !Ref "AWS::NoValue", dev-role]\n'
        "      Environment:\n"
        '        PrivilegedMode: !If [IsDev, true, !Ref "AWS::NoValue"]',
    )
    project = _parse(text).codebuild_projects["Probe"]
    assert isinstance(project, CodeBuildProject)
    assert project.service_role is None
    assert project.privileged is False


def test_import_value_and_parameters_without_default_are_unresolved() -> None:
    got = _probe(
        IMPORTED="!ImportValue shared-artifact-bucket",
        NO_DEFAULT="!Ref NoDefault",
        IN_SUB='!Sub "arn:aws:s3:::${NoDefault}/*"',
        FROM_SSM="!Ref Latest",
        UNCREATED="!Ref DevStore",
        UNKNOWN_TYPE="!Ref Topic",
        UNKNOWN_ATTR="!GetAtt Store.WebsiteURL",
        MISSING="!Ref Nowhere",
        AZS="!Select [0, !GetAZs '']",
    )
    assert got["IMPORTED"] == Unresolved(
        "Fn::ImportValue shared-artifact-bucket", "imported from another stack"
    )
    assert got["NO_DEFAULT"] == Unresolved("Ref NoDefault", "parameter `NoDefault` has no default")
    assert got["IN_SUB"] == Unresolved(
        'Fn::Sub "arn:aws:s3:::${NoDefault}/*"', "parameter `NoDefault` has no default"
    )
    assert got["FROM_SSM"] == Unresolved(
        "Ref Latest", "parameter `Latest` is read from SSM parameter `/app/latest` at deployment"
    )
    assert got["UNCREATED"] == Unresolved(
        "Ref DevStore", "resource `DevStore` is not created (condition `IsDev` is false)"
    )
    assert got["UNKNOWN_TYPE"] == Unresolved(
        "Ref Topic", "the physical id of `Topic` (AWS::SNS::Topic) is assigned at deployment"
    )
    assert got["UNKNOWN_ATTR"] == Unresolved(
        "Fn::GetAtt Store.WebsiteURL",
        "attribute `WebsiteURL` of `Store` (AWS::S3::Bucket) is known only after deployment",
    )
    assert got["MISSING"] == Unresolved("Ref Nowhere", "`Nowhere` is not defined in this template")
    assert isinstance(got["AZS"], Unresolved)
    assert got["AZS"].reason == "availability zones are known only at deployment"


def test_resolution_terminates_on_cycles_and_explosions() -> None:
    # Two buckets named after each other, and a chain of names that doubles at every
    # step (2**40 characters if expanded).
    chain = "\n".join(
        f"  B{i}:\n    Type: AWS::S3::Bucket\n    Properties:\n"
        f'      BucketName: !Sub "${{B{i - 1}}}${{B{i - 1}}}"'
        for i in range(1, 41)
    )
    text = (
        "Resources:\n"
        "  Ping:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub ping-${Pong}\n"
        "  Pong:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub pong-${Ping}\n"
        "  B0:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: seed\n" + chain + "\n"
    )
    inventory = _parse(text)
    assert {"Ping", "pong-Ping"} <= set(inventory.buckets)  # the cycle is cut, not followed
    assert "seed" * 2**17 in inventory.buckets  # B17: 524,288 characters
    # B18 would be 1,048,576 characters: over the limit, so it keeps its logical id
    assert "B18" in inventory.buckets
    assert "B18B18" in inventory.buckets


def test_total_resolved_output_is_bounded() -> None:
    chain = "".join(
        f"  B{i}:\n    Type: AWS::S3::Bucket\n    Properties:\n"
        f'      BucketName: !Sub "${{B{i - 1}}}${{B{i - 1}}}"\n'
        for i in range(1, 18)
    )
    refs = ", ".join(["!Ref B17"] * 200)  # 200 x 524,288 characters
    text = (
        "Resources:\n  B0:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: seed\n"
        + chain
        + f"  Many:\n    Type: AWS::S3::Bucket\n    Properties:\n      Tags: [{refs}]\n"
    )
    with pytest.raises(
        ParseError, match="intrinsic functions produce more than 67108864 characters"
    ):
        _parse(text, "amplify.yaml")


# -- resource identities ------------------------------------------------------------


def test_roles_by_ref_and_getatt(release: Inventory) -> None:
    pipeline = release.pipelines[0]
    assert pipeline.role_arn == PIPELINE_ROLE
    role = release.role(PIPELINE_ROLE)
    assert isinstance(role, Role)
    assert role.name == "${AWS::StackName}-pipeline"
    assert role.loc is not None
    assert role.loc.pointer == "/Resources/PipelineRole"
    assert role.trust_policy["Statement"][0]["Principal"] == {
        "Service": "codepipeline.amazonaws.com"
    }
    # Ref gives the name, which also finds the role
    verify = release.codebuild_projects["VerifyProject"]
    assert verify.service_role == "BuildRole"
    assert isinstance(release.role("BuildRole"), Role)
    build = release.codebuild_projects["${AWS::StackName}-build"]
    assert build.service_role == f"arn:aws:iam::{ACCOUNT}:role/BuildRole"
    deploy = pipeline.stages[2].actions[0]
    assert deploy.role_arn == "arn:aws:iam::444455556666:role/release-deployer"
    assert isinstance(release.role(deploy.role_arn), Gap)  # another account: not this role


def test_role_inline_policy_iam_policy_and_managed_policies(release: Inventory) -> None:
    role = release.roles[PIPELINE_ROLE]
    assert set(role.inline_policies) == {"pipeline-access", "pipeline-extra"}
    assert role.inline_policies["pipeline-access"]["Statement"][0]["Resource"] == (
        f"arn:aws:s3:::{BUCKET}/*"
    )
    assert role.inline_policy_locs["pipeline-access"].pointer == (
        "/Resources/PipelineRole/Properties/Policies/0"
    )
    assert role.inline_policy_locs["pipeline-extra"].pointer == (
        "/Resources/PipelineExtraPolicy/Properties"
    )
    shared, aws_managed = role.managed_policies
    assert shared.arn == f"arn:aws:iam::{ACCOUNT}:policy/shared-read"
    assert shared.document["Statement"][0]["Action"] == "codebuild:BatchGetProjects"
    assert aws_managed == ManagedPolicy(
        "arn:aws:iam::aws:policy/AWSCodePipeline_ReadOnlyAccess",
        None,
        aws_managed.loc,
    )
    assert role.complete is True

    build_role = release.roles[f"arn:aws:iam::{ACCOUNT}:role/BuildRole"]
    assert [p.arn for p in build_role.managed_policies] == [
        "arn:aws:iam::aws:policy/AdministratorAccess"
    ]
    assert build_role.managed_policies[0].name == "AdministratorAccess"
    # a managed policy ARN that cannot be resolved leaves the role incomplete
    assert release.roles[f"arn:aws:iam::{ACCOUNT}:role/release-deployer"].complete is False


def test_managed_policy_attached_through_its_roles_property() -> None:
    text = """\
Resources:
  Worker:
    Type: AWS::IAM::Role
    Properties:
      RoleName: worker
      AssumeRolePolicyDocument: {Statement: []}
  Boundary:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Path: /team/
      Roles: [!Ref Worker]
      Users: [!Ref Operator]
      PolicyDocument: {Statement: [{Effect: Allow, Action: "s3:*", Resource: "*"}]}
  Operator:
    Type: AWS::IAM::User
    Properties:
      Path: /humans/
"""
    inventory = _parse(text)
    role = inventory.roles[f"arn:aws:iam::{ACCOUNT}:role/worker"]
    (policy,) = role.managed_policies
    assert policy.arn == f"arn:aws:iam::{ACCOUNT}:policy/team/Boundary"
    assert policy.document == {
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
    }
    assert policy.loc is not None
    assert policy.loc.pointer == "/Resources/Boundary/Properties"
    principals = {(p.principal, p.principal_kind, p.name) for p in inventory.identity_policies}
    assert principals == {
        (f"arn:aws:iam::{ACCOUNT}:role/worker", "role", "Boundary"),
        (f"arn:aws:iam::{ACCOUNT}:user/humans/Operator", "user", "Boundary"),
    }


def test_identity_policies_cover_every_principal(release: Inventory) -> None:
    found = {(p.principal, p.principal_kind, p.name) for p in release.identity_policies}
    assert (f"arn:aws:iam::{ACCOUNT}:group/release-approvers", "group", "approve") in found
    assert (PIPELINE_ROLE, "role", "pipeline-extra") in found
    assert (f"arn:aws:iam::{ACCOUNT}:role/BuildRole", "role", "AdministratorAccess") in found
    approve = next(p for p in release.identity_policies if p.name == "approve")
    assert approve.document["Statement"][0]["Action"] == "codepipeline:PutApprovalResult"
    assert approve.loc is not None
    assert approve.loc.pointer == "/Resources/Approvers/Properties/Policies/0"
    assert release.identity_policies_complete is False


def test_buckets_with_and_without_controls(release: Inventory) -> None:
    store = release.pipelines[0].artifact_stores[0]
    assert store.location == BUCKET
    assert store.encryption_key == KEY_ARN
    bucket = release.bucket(BUCKET)
    assert isinstance(bucket, Bucket)
    assert bucket.versioning is True
    assert bucket.object_lock == ObjectLock(True, "GOVERNANCE", 30, None)
    assert (bucket.sse_algorithm, bucket.sse_kms_key) == ("aws:kms", KEY_ARN)
    assert bucket.policy_known is True
    statement = bucket.policy["Statement"][0]
    assert statement["Resource"] == [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]

    scratch = release.buckets["ScratchBucket"]  # no name: the logical id
    assert scratch == Bucket(
        name="ScratchBucket",
        loc=scratch.loc,
        account=ACCOUNT,
        versioning=False,
        object_lock=None,
        sse_algorithm=None,
        policy=None,
    )
    assert "dev-only" not in release.buckets  # its condition is false


def test_bucket_properties_that_do_not_resolve_are_unknown() -> None:
    text = """\
Parameters:
  Versioning: {Type: String}
Resources:
  Store:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: store
      VersioningConfiguration: {Status: !Ref Versioning}
      ObjectLockEnabled: true
      ObjectLockConfiguration:
        ObjectLockEnabled: Enabled
        Rule: {DefaultRetention: {Mode: COMPLIANCE, Years: !ImportValue retention}}
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: !ImportValue algorithm}
  StorePolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: store
      PolicyDocument: !ImportValue shared-policy
"""
    bucket = _parse(text).buckets["store"]
    assert bucket.versioning is None
    assert (bucket.object_lock, bucket.object_lock_known) == (None, False)
    assert (bucket.sse_algorithm, bucket.encryption_known) == (None, False)
    assert (bucket.policy, bucket.policy_known) == (None, False)


def test_kms_key_by_ref_getatt_and_alias(release: Inventory) -> None:
    key = release.kms_key(KEY_ARN)
    assert isinstance(key, KmsKey)
    assert key.key_id == "ArtifactKey"
    assert key.aliases == ("alias/release-artifacts",)
    assert key.account == ACCOUNT
    assert key.customer_managed is True
    assert key.policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert release.kms_key("ArtifactKey") is key
    assert release.kms_key("alias/release-artifacts") is key
    assert release.kms_key("arn:aws:kms:us-east-1:111122223333:alias/release-artifacts") is key


def test_codebuild_projects(release: Inventory) -> None:
    build = release.codebuild_projects["${AWS::StackName}-build"]
    assert release.pipelines[0].stages[1].actions[0].config("ProjectName") == build.name
    assert build.arn == f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/${{AWS::StackName}}-build"
    assert build.buildspec == (
        "version: 0.2\nphases:\n  build:\n    commands:\n      - make release\n"
    )
    assert build.image == "aws/codebuild/standard:7.0"
    assert build.privileged is False
    assert [(v.name, v.value, v.type) for v in build.environment_variables] == [
        ("STAGE", "prod", "PLAINTEXT"),
        (
            "REPO_TOKEN",
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:release/repo-token",
            "SECRETS_MANAGER",
        ),
        (
            "REGION_FLAG",
            Unresolved("Fn::If InUsEast1", "Fn::If on condition `InUsEast1` whose branches differ"),
            "PLAINTEXT",
        ),
    ]
    loc = build.environment_variables[1].loc
    assert loc is not None
    assert loc.pointer == "/Resources/BuildProject/Properties/Environment/EnvironmentVariables/1"
    assert (build.cloudwatch_logs_enabled, build.s3_logs_enabled) == (True, True)
    assert build.s3_logs_encryption_disabled is True
    assert build.log_group == "/aws/codebuild/${AWS::StackName}-build"
    assert build.encryption_key == KEY_ARN
    assert build.artifacts_type == "CODEPIPELINE"
    assert [g.filters for g in build.webhook_filter_groups] == [
        (("EVENT", "PUSH", False), ("HEAD_REF", "^refs/heads/main$", False))
    ]
    assert build.webhook_loc is not None
    assert build.webhook_loc.pointer == "/Resources/BuildProject/Properties/Triggers"
    assert build.tags == {"team": "release"}

    verify = release.codebuild_projects["VerifyProject"]
    assert verify.buildspec is None  # the default buildspec.yml from the source
    assert (verify.cloudwatch_logs_enabled, verify.s3_logs_enabled) == (True, False)
    assert verify.webhook_loc is None


def test_connections_webhooks_action_types_and_other_resources(release: Inventory) -> None:
    source = release.pipelines[0].stages[0].actions[0]
    arn = f"arn:aws:codestar-connections:{REGION}:{ACCOUNT}:connection/GitHubConnection"
    assert source.config("ConnectionArn") == arn
    connection = release.connections[arn]
    assert (connection.provider_type, connection.owner_account, connection.status) == (
        "GitHub",
        ACCOUNT,
        None,
    )
    (webhook,) = release.webhooks
    assert (webhook.name, webhook.authentication) == ("PipelineWebhook", "GITHUB_HMAC")
    assert webhook.target_pipeline == "${AWS::StackName}-release"
    assert webhook.target_action == "Checkout"
    assert webhook.filters == (("$.ref", "refs/heads/{Branch}"),)
    assert set(release.action_types) == {("Test", "Custom", "SecScan", "2")}

    gate = release.lambdas["release-gate"]
    assert gate.arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:release-gate"
    assert gate.versions == ("${GateVersion.Version}",)
    assert gate.aliases == {"live": "${GateVersion.Version}"}
    assert release.secrets["release/repo-token"].rotation_enabled is True
    assert release.secrets["release/repo-token"].rotation_days == 30
    assert release.secrets["WebhookSecret"].rotation_enabled is False
    logs = release.log_groups["/aws/codebuild/${AWS::StackName}-build"]
    assert logs.data_protection_policy["Name"] == "mask-credentials"
    repo = release.ecr_repositories["release/app"]
    assert (repo.tag_mutability, repo.scan_on_push) == ("IMMUTABLE", True)
    loose = release.ecr_repositories["LooseRepo"]
    assert (loose.tag_mutability, loose.scan_on_push) == ("MUTABLE", False)


def test_pipeline_declaration(release: Inventory) -> None:
    pipeline = release.pipelines[0]
    assert pipeline.name == "${AWS::StackName}-release"
    assert (pipeline.arn, pipeline.account, pipeline.source_file) == (None, None, "release.yaml")
    assert pipeline.loc.pointer == "/Resources/Pipeline/Properties"
    assert pipeline.pipeline_type == "V2"
    assert pipeline.tags == {"environment": "prod"}
    assert [s.name for s in pipeline.stages] == ["Source", "Build", "Deploy-Prod"]
    source = pipeline.stages[0].actions[0]
    assert source.config("FullRepositoryId") == Unresolved(
        "Ref RepoId", "parameter `RepoId` has no default"
    )
    deploy = pipeline.stages[2].actions[0]
    assert deploy.config("StackName") == "${AWS::StackName}-app"
    assert deploy.config("TemplatePath") == "BuildOutput::template.yaml"
    assert deploy.config("ParameterOverrides") == '{"Greeting": "${NotAVariable}"}'
    assert deploy.config("RoleArn") == Unresolved(
        "Fn::ImportValue shared-cfn-role", "imported from another stack"
    )
    (trigger,) = pipeline.triggers
    assert trigger.push[0].branches_include == ("main",)
    (suppression,) = pipeline.suppressions
    assert (suppression.rule, suppression.reason) == (
        "PW104",
        "commits are verified by the VerifyProject action",
    )
    assert suppression.loc.pointer == "/Resources/Pipeline/Metadata/pipewarden/ignore/0"


def test_artifact_stores_list_form() -> None:
    text = """\
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      RoleArn: arn:aws:iam::111122223333:role/pipeline
      ArtifactStores:
        - Region: us-east-1
          ArtifactStore: {Type: S3, Location: east-bucket, EncryptionKey: {Id: alias/east, Type: KMS}}
        - Region: eu-west-1
          ArtifactStore: {Type: S3, Location: west-bucket}
      Stages:
        - Name: Source
          Actions:
            - Name: Get
              ActionTypeId: {Category: Source, Owner: AWS, Provider: S3, Version: "1"}
              Configuration: {S3Bucket: src, S3ObjectKey: app.zip}
"""
    inventory = _parse(text, "stores.yaml")
    pipeline = inventory.pipelines[0]
    assert pipeline.name == "Pipeline"  # no Name: the logical id
    east, west = pipeline.artifact_stores
    assert (east.region, east.location, east.encryption_key) == (
        "us-east-1",
        "east-bucket",
        "alias/east",
    )
    assert (west.region, west.location, west.encryption_key) == ("eu-west-1", "west-bucket", None)
    assert west.loc.pointer == "/Resources/Pipeline/Properties/ArtifactStores/1/ArtifactStore"
    assert inventory.positions["stores.yaml"].locate(west.loc.pointer) == (10, 11)


_CONDITIONAL = """\
Conditions:
  InUsEast1: !Equals [!Ref "AWS::Region", us-east-1]
  Never: !Equals [a, b]
Resources:
  Maybe:
    Type: AWS::CodePipeline::Pipeline
    Condition: InUsEast1
    Properties:
      Stages:
        - Name: Source
          Actions:
            - Name: Get
              ActionTypeId: {Category: Source, Owner: AWS, Provider: S3, Version: "1"}
  Absent:
    Type: AWS::CodePipeline::Pipeline
    Condition: Never
    Properties:
      Stages: []
  Shapeshifter:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Stages:
        - Name: Source
          Actions:
            - Name: Get
              ActionTypeId: {Category: Source, Owner: AWS, Provider: S3, Version: "1"}
        - !If
          - InUsEast1
          - Name: Approve
            Actions:
              - Name: Approve
                ActionTypeId: {Category: Approval, Owner: AWS, Provider: Manual, Version: "1"}
          - !Ref AWS::NoValue
"""


def test_pipelines_that_depend_on_conditions() -> None:
    inventory = _parse(_CONDITIONAL, "conditional.yaml")
    # Maybe's condition is unknown: it is scanned, with a note. Absent is never created.
    # Shapeshifter's stages depend on the region: it cannot be scanned faithfully.
    assert [p.display_name for p in inventory.pipelines] == ["Maybe"]
    assert inventory.notes == (
        "pipeline `Maybe` exists only if condition `InUsEast1` holds; it is scanned as if it does",
        "pipeline `Shapeshifter` is not scanned: stage has no name, because `Fn::If InUsEast1` "
        "is unresolved (Fn::If on condition `InUsEast1` whose branches differ)",
    )


def test_suppression_without_reason_is_an_error() -> None:
    text = """\
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Metadata:
      pipewarden:
        ignore:
          - id: PW401
    Properties:
      Stages: []
"""
    with pytest.raises(ParseError, match="the suppression of PW401 needs a `reason`") as info:
        _parse(text, "suppress.yaml")
    assert info.value.pointer == "/Resources/Pipeline/Metadata/pipewarden/ignore/0"
    assert info.value.line == 7


def test_malformed_resources_are_reported_with_pointer_and_line() -> None:
    with pytest.raises(ParseError, match="resource `Thing` has no Type") as info:
        _parse("Resources:\n  Ok:\n    Type: AWS::S3::Bucket\n  Thing:\n    Properties: {}\n")
    assert (info.value.pointer, info.value.line) == ("/Resources/Thing", 4)


def test_yaml_that_only_looks_like_a_template_is_not_one() -> None:
    inventory = _parse("Resources:\n  - cpu\n  - memory\n", "notes.yaml")
    assert inventory.pipelines == ()
    assert inventory.notes == ("notes.yaml: not a CloudFormation template (no `Resources`)",)


# -- CDK ------------------------------------------------------------------------


def test_cdk_synthesized_template() -> None:
    text = CDK_TEMPLATE.read_text()
    inventory = parse_cloudformation_json(json.loads(text), source="cdk.json", text=text)
    (pipeline,) = inventory.pipelines
    assert pipeline.name == "PipelineC660917D"
    pipeline_role = f"arn:aws:iam::{ACCOUNT}:role/PipelineRoleB27FAA37"
    assert pipeline.role_arn == pipeline_role
    # the role's permissions come from the separate DefaultPolicy resource
    role = inventory.roles[pipeline_role]
    assert list(role.inline_policies) == ["PipelineRoleDefaultPolicy7BDC1ABB"]
    assumed = role.inline_policies["PipelineRoleDefaultPolicy7BDC1ABB"]["Statement"][2]["Resource"]
    deploy_role = "arn:aws:iam::444455556666:role/cdk-hnb659fds-deploy-role-444455556666-us-east-1"
    assert assumed == [
        f"arn:aws:iam::{ACCOUNT}:role/PipelineSourceGitHubCodePipelineActionRoleA1F5C3D2",
        f"arn:aws:iam::{ACCOUNT}:role/PipelineBuildSynthCodePipelineActionRole4E7A3A0B",
        deploy_role,
    ]
    prepare, execute = pipeline.stages[2].actions
    assert prepare.role_arn == execute.role_arn == deploy_role  # built with Fn::Join
    assert prepare.config("RoleArn") == (
        "arn:aws:iam::444455556666:role/cdk-hnb659fds-cfn-exec-role-444455556666-us-east-1"
    )
    for action in pipeline.actions()[:2]:
        assert action.role_arn is not None
        assert isinstance(inventory.role(action.role_arn), Role)
    store = pipeline.artifact_stores[0]
    bucket = inventory.bucket(str(store.location))
    assert isinstance(bucket, Bucket)
    assert bucket.name == "PipelineArtifactsBucket22248F97"
    assert bucket.versioning is True
    assert bucket.policy["Statement"][0]["Resource"][1] == (
        "arn:aws:s3:::PipelineArtifactsBucket22248F97/*"
    )
    key = inventory.kms_key(str(store.encryption_key))
    assert isinstance(key, KmsKey)
    assert key.aliases == ("alias/codepipeline-releasepipelinestack-pipeline-9b1e7f3c",)
    project = inventory.codebuild_project(str(pipeline.stages[1].actions[0].config("ProjectName")))
    assert isinstance(project, CodeBuildProject)
    assert project.name == "SynthProject3C6F2F5B"
    assert project.service_role == f"arn:aws:iam::{ACCOUNT}:role/SynthProjectRole8D7E1F0C"
    assert json.loads(str(project.buildspec))["phases"]["build"]["commands"] == ["npx cdk synth"]
    pointer = (prepare.loc / "configuration" / "RoleArn").pointer
    spot = inventory.positions["cdk.json"].locate(pointer)
    assert spot is not None
    assert '"RoleArn": {' in text.splitlines()[spot[0] - 1]


# -- through load_paths ------------------------------------------------------------


def test_load_paths_on_the_examples_directory() -> None:
    result = load_paths([EXAMPLES])
    assert result.errors == []
    assert sorted(Path(f).name for f in result.files) == [
        "ReleasePipelineStack.template.json",
        "hardened-pipeline.yaml",
        "weak-pipeline.yaml",
    ]
    by_file = {Path(str(inv.pipelines[0].source_file)).name: inv for inv in result.inventories}
    weak = by_file["weak-pipeline.yaml"]
    source = weak.pipelines[0].stages[0].actions[0]
    assert source.provider == "GitHub"
    assert source.config("OAuthToken") == Unresolved(
        "Ref GitHubToken", "parameter `GitHubToken` has no default"
    )
    hardened = by_file["hardened-pipeline.yaml"]
    store = hardened.pipelines[0].artifact_stores[0]
    bucket = hardened.bucket(str(store.location))
    assert isinstance(bucket, Bucket)
    assert bucket.object_lock == ObjectLock(True, "GOVERNANCE", 30, None)
    assert all(inv.source_kind == "CloudFormation template" for inv in result.inventories)


def test_load_paths_reports_bad_files_and_reads_the_rest(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text((CFN / "release.yaml").read_text())
    (tmp_path / "latin1.yaml").write_bytes("Resources:\n  Caf\xe9: {}\n".encode("latin-1"))
    (tmp_path / "dup.yaml").write_text("Resources:\n  A: {Type: X}\n  A: {Type: Y}\n")
    (tmp_path / "workflow.yml").write_text("on: push\njobs: {}\n")
    result = load_paths([tmp_path])
    assert [Path(f).name for f in result.files] == ["good.yaml"]
    errors = sorted(str(e) for e in result.errors)
    assert errors == [
        f"{tmp_path / 'dup.yaml'}:3: duplicate key `A`",
        f"{tmp_path / 'latin1.yaml'}: not UTF-8 text (byte 16)",
    ]
    assert all(isinstance(e, InputError) for e in result.errors)
    assert result.notes == [f"skipped {tmp_path / 'workflow.yml'}: not a pipeline definition"]
