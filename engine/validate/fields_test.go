package validate

import (
	"strings"
	"testing"
)

// A service blueprint for hand-written files whose pd_service_id a
// transform with on_component_not_found: skip manages.
const valHandBlueprint = `{
  "identifier": "service",
  "title": "Service",
  "schema": {"properties": {"tier": {"type": "string"}, "pd_service_id": {"type": "string"}}},
  "relations": {}
}
`

const valHandService = `{
	"identifier": "payments",
	"blueprint": "service",
	"title": "Payments",
	"aliases": ["pay", "payments-api"],
	"properties": {
		"tier": "gold",
		"pd_service_id": "PX12"
	}
}
`

// handCatalog is a synced catalog with a hand-written service whose
// pd_service_id the sync manages, committed.
func handCatalog(t *testing.T) *fixture {
	t.Helper()
	f := valCatalog(t)
	valWrite(t, f.dir, "blueprints/service.json", valHandBlueprint)
	valWrite(t, f.dir, "catalog/service/payments.json", valHandService)
	valWrite(t, f.dir, "catalog/service/search.json", `{"identifier": "search", "blueprint": "service", "properties": {"tier": "silver"}}`+"\n")
	valWrite(t, f.dir, ".gitalog/fields/service", "payments\tproperties.pd_service_id\n")
	f.git("add", "-A")
	f.git("commit", "-qm", "hand-written services")
	return f
}

const (
	fieldEdited  = "this field is edited in the worktree, but the sync manages it (it is listed in .gitalog/fields/service): the next sync will overwrite it"
	fieldRemoved = "this field is removed in the worktree, but the sync manages it (it is listed in .gitalog/fields/service): the next sync will write it again"
)

func TestValidateAliases(t *testing.T) {
	f := handCatalog(t)
	if res := valRun(t, Options{Dir: f.dir}); len(res.Findings) != 0 {
		t.Fatalf("a valid file with aliases:\n%s", valText(res))
	}
	// search's alias is payments' identifier, pay's identifier payments'
	// alias; aliases that are not strings.
	valWrite(t, f.dir, "catalog/service/search.json", "{\"identifier\": \"search\", \"blueprint\": \"service\",\n \"aliases\": [\"find\", \"payments\"]}\n")
	valWrite(t, f.dir, "catalog/service/pay.json", "{\"identifier\": \"pay\",\n \"blueprint\": \"service\"}\n")
	valWrite(t, f.dir, "catalog/service/x.json", "{\"identifier\": \"x\", \"blueprint\": \"service\",\n \"aliases\": [\"ok\",\n 7]}\n")
	valWrite(t, f.dir, "catalog/service/y.json", "{\"identifier\": \"y\", \"blueprint\": \"service\", \"aliases\": \"why\"}\n")
	res := valRun(t, Options{Dir: f.dir})
	valCompare(t, res, []Finding{
		// pay.json comes first in path order: payments.json's alias clashes.
		{Path: "catalog/service/payments.json", Pointer: "/aliases/0", Line: 5,
			Reason: `the alias "pay" is also the identifier of catalog/service/pay.json: identifiers and aliases of the service entities must all differ`},
		{Path: "catalog/service/search.json", Pointer: "/aliases/1", Line: 2,
			Reason: `the alias "payments" is also the identifier of catalog/service/payments.json: identifiers and aliases of the service entities must all differ`},
		{Path: "catalog/service/x.json", Pointer: "/aliases/1", Line: 3, Reason: "an alias must be a string, not a number"},
		{Path: "catalog/service/y.json", Pointer: "/aliases", Line: 1, Reason: `"aliases" must be an array of strings, not a string`},
	})
}

// A managed field of a hand-written file edited or removed in the
// worktree is warned about, at its line; other fields of the file are the
// author's.
func TestValidateManagedFieldsWorktree(t *testing.T) {
	f := handCatalog(t)
	p := "catalog/service/payments.json"
	valReplace(t, f.dir, p, `"tier": "gold"`, `"tier": "platinum"`)
	if res := valRun(t, Options{Dir: f.dir}); len(res.Findings) != 0 {
		t.Fatalf("an edit of a field the sync does not manage:\n%s", valText(res))
	}
	valReplace(t, f.dir, p, `"PX12"`, `"PX13"`)
	valCompare(t, valRun(t, Options{Dir: f.dir}), []Finding{
		{Path: p, Pointer: "/properties/pd_service_id", Line: 8, Warning: true, Reason: fieldEdited},
	})
	// The same value written differently is no edit.
	valReplace(t, f.dir, p, `"pd_service_id": "PX13"`, `"pd_service_id":"PX\u0031\u0032"`)
	if res := valRun(t, Options{Dir: f.dir}); len(res.Findings) != 0 {
		t.Fatalf("a respelled value:\n%s", valText(res))
	}
	valReplace(t, f.dir, p, `"platinum",`, `"platinum"`)
	valReplace(t, f.dir, p, `"pd_service_id":"PX\u0031\u0032"`, ``)
	valCompare(t, valRun(t, Options{Dir: f.dir}), []Finding{
		{Path: p, Pointer: "/properties/pd_service_id", Line: 6, Warning: true, Reason: fieldRemoved},
	})
	// Deleting the hand-written file is its author's call.
	f.git("rm", "-qf", p)
	if res := valRun(t, Options{Dir: f.dir}); len(res.Findings) != 0 {
		t.Fatalf("a deleted hand-written file:\n%s", valText(res))
	}
}

// With --base: a hand commit that edits a managed field is warned about
// as a hand edit of a managed file is; a sync commit's is not, and neither
// is an edit of another field.
func TestValidateManagedFieldsBase(t *testing.T) {
	f := handCatalog(t)
	f.git("branch", "base")
	p := "catalog/service/payments.json"
	syncCommit := func(old, new string) {
		valReplace(t, f.dir, p, old, new)
		f.git("commit", "-qam", "sync: 1 changed\n\nSource: test\n")
	}
	handCommit := func(old, new string) string {
		valReplace(t, f.dir, p, old, new)
		f.git("commit", "-qam", "hand edit")
		return strings.TrimSpace(f.git("rev-parse", "--short=12", "HEAD"))
	}
	managed := func(res *Result) []Finding {
		var out []Finding
		for _, fd := range res.Findings {
			if strings.Contains(fd.Reason, "manages it") {
				out = append(out, fd)
			}
		}
		return out
	}

	// The sync sets the field, a person edits another: nothing to say.
	syncCommit(`"PX12"`, `"PX20"`)
	handCommit(`"gold"`, `"silver"`)
	if got := managed(valRun(t, Options{Dir: f.dir, Base: "base"})); len(got) != 0 {
		t.Fatalf("warned: %+v", got)
	}
	// A person edits the field: warned, until a sync sets it again.
	hand := handCommit(`"PX20"`, `"PX21"`)
	res := valRun(t, Options{Dir: f.dir, Base: "base"})
	valCompare(t, &Result{Findings: managed(res)}, []Finding{{Path: p, Pointer: "/properties/pd_service_id", Line: 8, Warning: true,
		Reason: "this field is edited by commit " + hand + ", but the sync manages it (it is listed in .gitalog/fields/service): the next sync will overwrite it"}})
	syncCommit(`"PX21"`, `"PX22"`)
	if got := managed(valRun(t, Options{Dir: f.dir, Base: "base"})); len(got) != 0 {
		t.Fatalf("warned after the sync set it again: %+v", got)
	}
	// A person removes it.
	hand = handCommit(`"silver",`+"\n\t\t"+`"pd_service_id": "PX22"`, `"silver"`)
	res = valRun(t, Options{Dir: f.dir, Base: "base"})
	valCompare(t, &Result{Findings: managed(res)}, []Finding{{Path: p, Pointer: "/properties/pd_service_id", Line: 6, Warning: true,
		Reason: "this field is removed by commit " + hand + ", but the sync manages it (it is listed in .gitalog/fields/service): the next sync will write it again"}})
	if res.Errors() != 0 {
		t.Fatalf("errors:\n%s", valText(res))
	}
}
