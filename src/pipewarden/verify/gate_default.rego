# PipeWarden's built-in gate policy.
#
# Contract for every gate policy: package `pipewarden.gate`, a set `deny` of
# reason strings. The gate allows only when `deny` is defined and empty.
#
# input (built by `pipewarden gate`; absent inputs are absent keys):
#   scan:     a PipeWarden JSON report (schema report-v1.json)
#   evidence: a list of evidence records (verify-handoff, verify-commit, ...)
#   drift:    a drift report: {"results": [{rule_id, status, suppressed, ...}]}
#   reach:    a `pipewarden reach --format json` report: {"results": [{vulnerability,
#             package, version, tier, severity: {label}, deployed_to_production}]}
package pipewarden.gate

import rego.v1

blocking_severities := {"critical", "high"}

# 1. No unsuppressed failing rule of severity high or critical.
deny contains "no scan result: the gate needs a PipeWarden JSON report (--scan)" if {
	not input.scan
}

deny contains msg if {
	some result in input.scan.results
	result.status == "fail"
	result.suppressed == null
	result.severity in blocking_severities
	msg := sprintf("%s (%s) fails on pipeline %s: %s", [result.rule_id, result.severity, result.pipeline, result.message])
}

deny contains msg if {
	crashes := count(input.scan.errors)
	crashes > 0
	msg := sprintf("the scan had %d rule crash(es): the crashed rules' results are unknown", [crashes])
}

# 2. A verified attestation of the artifact: a verify-handoff record that passed.
verified_handoffs := [record |
	some record in input.evidence
	record.verifier == "verify-handoff"
	record.verified == true
]

deny contains "no verified attestation: give the verify-handoff evidence record (--evidence)" if {
	count(verified_handoffs) == 0
}

# Any evidence record that did not verify is a reason on its own.
deny contains msg if {
	some record in input.evidence
	record.verified != true
	msg := sprintf("%s did not verify: %s", [record.verifier, record.reason])
}

# 3. An SBOM attached: a signed CycloneDX statement for the same artifact, i.e. a
#    verified verify-handoff record whose attestation carried one.
sbom_attached if {
	some record in verified_handoffs
	record.sbom.attached == true
}

deny contains "no SBOM attached: the verified attestation carries no CycloneDX statement (attest --sbom)" if {
	count(verified_handoffs) > 0
	not sbom_attached
}

# 4. No drift from the baseline, when drift data is given.
deny contains msg if {
	some result in input.drift.results
	result.rule_id == "PW901"
	result.status == "fail"
	result.suppressed == null
	msg := sprintf("drift from the baseline (PW901) on pipeline %s: %s", [result.pipeline, result.message])
}

# 5. Reachability, when a report is given: block only on a vulnerability whose code is
#    reachable, of high or critical severity (or of no stated severity), in an artifact not
#    known to stay out of production (deployed_to_production true, or null: no data).
reach_blocking_severities := {"critical", "high", "unknown"}

deny contains msg if {
	some finding in input.reach.results
	finding.tier == "reachable"
	finding.severity.label in reach_blocking_severities
	finding.deployed_to_production != false
	where := deployment_text(finding)
	msg := sprintf("%s in %s %s is reachable (%s severity) and %s", [finding.vulnerability, finding.package, finding.version, finding.severity.label, where])
}

deployment_text(finding) := "deployed to production" if {
	finding.deployed_to_production == true
}

deployment_text(finding) := "its deployment is not known" if {
	finding.deployed_to_production == null
}
