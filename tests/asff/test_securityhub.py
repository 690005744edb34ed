"""``--to-security-hub``: BatchImportFindings into moto's Security Hub (real HTTP).

moto implements BatchImportFindings and GetFindings (GetFindings ignores its
filters, which the importer re-applies itself) and accepts any account, so
nothing here needs botocore's Stubber. moto rejects, per finding, a finding
without resources: that is the partial failure used below.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipewarden.cli import main
from pipewarden.collect.securityhub import BATCH_SIZE, import_findings
from pipewarden.demo.server import Emulator
from pipewarden.engine import ScanResult
from pipewarden.report.asff import findings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MOTO_ACCOUNT = "123456789012"  # the emulator's default account
Clock = Callable[[int], Callable[[], dt.datetime]]
ReadAll = Callable[[Any], list[dict[str, Any]]]


def _hub(moto: Emulator, **credentials: str) -> Any:
    return moto.session().client(
        "securityhub", endpoint_url=moto.endpoint_url, region_name="us-east-1", **credentials
    )


def _docs(scan: ScanResult, clock: Clock, hour: int = 10) -> list[dict[str, Any]]:
    return findings(scan, account=MOTO_ACCOUNT, region="us-east-1", clock=clock(hour))


def test_imports_in_batches_of_100_and_a_rescan_updates_in_place(
    moto: Emulator, template_scan: ScanResult, clock: Clock, all_findings: ReadAll
) -> None:
    docs = _docs(template_scan, clock)
    assert BATCH_SIZE < len(docs) <= 2 * BATCH_SIZE
    first = import_findings(docs, session=moto.session(), endpoint_url=moto.endpoint_url)
    assert (first.imported, first.batches, first.failed, first.archived) == (len(docs), 2, (), 0)
    hub = _hub(moto)
    stored = all_findings(hub)
    assert sorted(f["Id"] for f in stored) == sorted(d["Id"] for d in docs)

    again = _docs(template_scan, clock, hour=11)
    second = import_findings(again, session=moto.session(), endpoint_url=moto.endpoint_url)
    assert (second.imported, second.batches, second.failed, second.archived) == (
        len(docs),
        2,
        (),
        0,
    )
    stored = all_findings(hub)
    assert len(stored) == len(docs)  # updated, not duplicated
    assert {f["UpdatedAt"] for f in stored} == {"2026-11-24T11:00:00.250Z"}


def test_findings_no_longer_reported_are_archived_for_the_same_pipelines_only(
    moto: Emulator, template_scan: ScanResult, clock: Clock, all_findings: ReadAll
) -> None:
    docs = _docs(template_scan, clock)
    import_findings(docs, session=moto.session(), endpoint_url=moto.endpoint_url)
    pipelines = sorted({d["Resources"][0]["Id"] for d in docs})
    fixed_pipeline, other_pipeline = pipelines[0], pipelines[1]
    of_fixed = [d for d in docs if d["Resources"][0]["Id"] == fixed_pipeline]
    gone = {d["Id"] for d in of_fixed[:5]}

    # The next scan covers only the fixed pipeline, and no longer reports five results.
    rescan = [
        d for d in _docs(template_scan, clock, hour=12) if d["Id"] in {x["Id"] for x in of_fixed}
    ]
    rescan = [d for d in rescan if d["Id"] not in gone]
    report = import_findings(
        rescan, session=moto.session(), endpoint_url=moto.endpoint_url, clock=clock(12)
    )
    assert report.imported == len(of_fixed) - 5
    assert report.archived == 5
    stored = {f["Id"]: f for f in all_findings(_hub(moto))}
    assert len(stored) == len(docs)
    for finding_id, finding in stored.items():
        resource = finding["Resources"][0]["Id"]
        if finding_id in gone:
            assert finding["RecordState"] == "ARCHIVED"
            assert finding["UpdatedAt"] == "2026-11-24T12:00:00.250Z"
        else:
            assert finding["RecordState"] == "ACTIVE", resource
    assert any(f["Resources"][0]["Id"] == other_pipeline for f in stored.values())


def test_a_partial_failure_is_reported_and_the_rest_imported(
    moto: Emulator, template_scan: ScanResult, clock: Clock, all_findings: ReadAll
) -> None:
    docs = _docs(template_scan, clock)[:10]
    broken = copy.deepcopy(docs[3])
    broken["Id"] = broken["Id"] + "-broken"
    broken["Resources"] = []  # moto refuses a finding without resources
    report = import_findings(
        [*docs, broken], session=moto.session(), endpoint_url=moto.endpoint_url
    )
    assert report.imported == 10
    assert report.total == 11
    (failed,) = report.failed
    assert failed.id == broken["Id"]
    assert failed.code == "InvalidInput"
    assert "resource" in failed.message
    assert len(all_findings(_hub(moto))) == 10


def test_findings_of_another_account_need_a_role_there(
    moto: Emulator, template_scan: ScanResult, clock: Clock, all_findings: ReadAll
) -> None:
    other = "210987654321"
    docs = findings(template_scan, account=other, region="us-east-1", clock=clock(10))[:20]
    report = import_findings(docs, session=moto.session(), endpoint_url=moto.endpoint_url)
    assert report.imported == 0
    assert {f.code for f in report.failed} == {"AccountMismatch"}
    assert other in report.failed[0].message
    assert all_findings(_hub(moto)) == []

    report = import_findings(
        docs,
        session=moto.session(),
        endpoint_url=moto.endpoint_url,
        role_name="SecurityHubImporter",
    )
    assert (report.imported, report.failed) == (20, ())
    sts = moto.session().client("sts", endpoint_url=moto.endpoint_url)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{other}:role/SecurityHubImporter", RoleSessionName="check"
    )["Credentials"]
    in_other = _hub(
        moto,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert len(all_findings(in_other)) == 20
    assert all_findings(_hub(moto)) == []  # nothing landed in the caller's own account


def test_nothing_to_import_makes_no_call() -> None:
    assert import_findings([]).imported == 0


# -- the command line ----------------------------------------------------------------


def test_cli_to_security_hub_imports_and_rescans_without_duplicates(
    aws_env: Emulator, capsys: pytest.CaptureFixture[str], all_findings: ReadAll
) -> None:
    argv = ["scan", str(EXAMPLES / "cloudformation"), "--to-security-hub", "--fail-on", "none"]
    code = main([*argv, "--format", "json"], environ={})
    out, err = capsys.readouterr()
    assert code == 0, err
    results = json.loads(out)["results"]
    assert f"imported {len(results)} of {len(results)} finding(s) in 2 batch(es)" in err
    hub = _hub(aws_env)
    stored = all_findings(hub)
    assert len(stored) == len(results)
    # No --asff-account: the caller's account and the session's region.
    assert {f["AwsAccountId"] for f in stored} == {MOTO_ACCOUNT}
    assert {f["Region"] for f in stored} == {"us-east-1"}

    code = main(argv, environ={})
    _out, err = capsys.readouterr()
    assert code == 0, err
    assert len(all_findings(hub)) == len(results)


def test_cli_exit_code_is_2_when_nothing_could_be_imported(
    aws_env: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(EXAMPLES / "cloudformation" / "weak-pipeline.yaml")
    argv = ["scan", path, "--to-security-hub", "--fail-on", "none", "--asff-account"]
    code = main([*argv, "210987654321", "--asff-region", "us-east-1"], environ={})
    out, err = capsys.readouterr()
    assert code == 2
    assert "weak-pipeline" in out  # the report is still written
    assert "not imported: AccountMismatch" in err
    assert "--security-hub-role" in err
