package backstage

import (
	"strings"
	"testing"
)

// The cases of @backstage/catalog-model's KubernetesValidatorFunctions
// and CommonValidatorFunctions tests and its documentation of names,
// ported.
func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"abc", true}, {"a-b", true}, {"a_b", true}, {"a.b", true}, {"A-B.c_D", true},
		{"0", true}, {"a1", true}, {strings.Repeat("a", 63), true},
		{"", false}, {strings.Repeat("a", 64), false},
		{"-a", false}, {"a-", false}, {".a", false}, {"a.", false}, {"_a", false}, {"a_", false},
		{"a--b", false}, {"a._b", false}, // doubled separators: the documented rule
		{"a b", false}, {"a/b", false}, {"a:b", false}, {"a@b", false}, {"ä", false}, {"a+b", false},
	} {
		if got := ValidName(tc.name); got != tc.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestValidNamespaceKindAnnotation(t *testing.T) {
	for _, tc := range []struct {
		f    func(string) bool
		what string
		in   string
		ok   bool
	}{
		{ValidNamespace, "namespace", "default", true},
		{ValidNamespace, "namespace", "a-b-0", true},
		{ValidNamespace, "namespace", "A", false},
		{ValidNamespace, "namespace", "a_b", false},
		{ValidNamespace, "namespace", "a--b", false},
		{ValidNamespace, "namespace", "-a", false},
		{ValidNamespace, "namespace", strings.Repeat("a", 64), false},
		{ValidKind, "kind", "Component", true},
		{ValidKind, "kind", "a1", true},
		{ValidKind, "kind", "1a", false},
		{ValidKind, "kind", "a-b", false},
		{ValidAnnotationKey, "annotation", "a", true},
		{ValidAnnotationKey, "annotation", "gitalog.dev/issues-unresolved", true},
		{ValidAnnotationKey, "annotation", "backstage.io/source-location", true},
		{ValidAnnotationKey, "annotation", "a/b/c", false},
		{ValidAnnotationKey, "annotation", "Bad.Prefix/x", false},
		{ValidAnnotationKey, "annotation", "x/-a", false},
		{ValidAnnotationKey, "annotation", "/a", false},
	} {
		if got := tc.f(tc.in); got != tc.ok {
			t.Errorf("%s %q: got %v, want %v", tc.what, tc.in, got, tc.ok)
		}
	}
}

// Name makes every identifier a valid, distinct name, and leaves a valid
// one alone.
func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"web-frontend": "web-frontend",
		"Payments_v2":  "Payments_v2",
		"4605292480":   "4605292480",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
	seen := map[string]string{}
	for _, in := range []string{
		"james.chen@acme-corp.example", "james.chen-acme-corp.example", "a--b", "a-b", "--", "", "ä", "ö",
		"Android App-production", "a/b", "a b", strings.Repeat("x", 100), strings.Repeat("x", 100) + "y",
		strings.Repeat("ab-", 30), "-lead", "trail.", "a..b", "a._-b",
	} {
		n := Name(in)
		if !ValidName(n) {
			t.Errorf("Name(%q) = %q: not a valid name", in, n)
		}
		if o, dup := seen[strings.ToLower(n)]; dup {
			t.Errorf("Name(%q) = Name(%q) = %q", in, o, n)
		}
		seen[strings.ToLower(n)] = in
		if Name(in) != n {
			t.Errorf("Name(%q) is not deterministic", in)
		}
	}
}
