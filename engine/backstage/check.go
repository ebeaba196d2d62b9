package backstage

import (
	"fmt"
	"strings"
)

// Check tests a descriptor against what @backstage/catalog-model's
// validators require of it: the envelope (apiVersion, kind, metadata's
// name, namespace, title, annotations, links) and the kind's required
// spec fields, and that every entity reference parses as
// kind:namespace/name with each part valid. The node test
// (TestCatalogModelAcceptsTheExport) checks the same output with the
// real package where it can.
func Check(d Entity) []error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if !validAPIVersion(d.APIVersion) {
		bad("apiVersion %q is not a valid API version", d.APIVersion)
	}
	if !ValidKind(d.Kind) {
		bad("kind %q is not a valid kind", d.Kind)
	}
	m := d.Metadata
	if !ValidName(m.Name) {
		bad("metadata.name %q is not a valid name (1 to 63 of [a-zA-Z0-9] in sequences separated by one of -_.)", m.Name)
	}
	if !ValidNamespace(m.Namespace) {
		bad("metadata.namespace %q is not a valid namespace", m.Namespace)
	}
	if m.Title != "" && strings.TrimSpace(m.Title) == "" {
		bad("metadata.title is blank")
	}
	for k := range m.Annotations {
		if !ValidAnnotationKey(k) {
			bad("metadata.annotations: %q is not a valid key", k)
		}
	}
	for i, l := range m.Links {
		if l.URL == "" {
			bad("metadata.links[%d].url is empty", i)
		}
	}
	str := func(key string) {
		if s, ok := d.Spec[key].(string); !ok || s == "" {
			bad("spec.%s is required (a non-empty string)", key)
		}
	}
	list := func(key string, required bool, ref string) {
		v, there := d.Spec[key]
		if !there {
			if required {
				bad("spec.%s is required (a list)", key)
			}
			return
		}
		l, ok := v.([]string)
		if !ok {
			bad("spec.%s is not a list of strings", key)
			return
		}
		for _, r := range l {
			if ref != "" {
				if err := checkRef(r, ref); err != nil {
					bad("spec.%s: %v", key, err)
				}
			}
		}
	}
	switch d.Kind {
	case "Component":
		str("type")
		str("lifecycle")
		str("owner")
		if o, ok := d.Spec["owner"].(string); ok {
			if err := checkRef(o, "group"); err != nil {
				bad("spec.owner: %v", err)
			}
		}
		list("dependsOn", false, "component")
	case "Group":
		str("type")
		list("children", true, "group")
		list("members", false, "user")
	case "User":
		list("memberOf", true, "group")
	case "Location":
		list("targets", false, "")
	default:
		bad("kind %q is not one gitalog writes", d.Kind)
	}
	return errs
}

func validAPIVersion(s string) bool {
	prefix, name, ok := strings.Cut(s, "/")
	if !ok {
		name, prefix = s, ""
	}
	if prefix != "" && !ValidDNSSubdomain(prefix) {
		return false
	}
	if len(name) < 1 || len(name) > 63 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkRef parses kind:namespace/name, as parseEntityRef reads a full
// reference, and checks each part and that the kind is want.
func checkRef(ref, want string) error {
	kind, rest, ok := strings.Cut(ref, ":")
	if !ok {
		return fmt.Errorf("reference %q has no kind", ref)
	}
	ns, name, ok := strings.Cut(rest, "/")
	if !ok {
		return fmt.Errorf("reference %q has no namespace", ref)
	}
	if !strings.EqualFold(kind, want) {
		return fmt.Errorf("reference %q is not to a %s", ref, want)
	}
	if !ValidNamespace(ns) || !ValidName(name) || strings.Contains(name, "/") {
		return fmt.Errorf("reference %q has an invalid namespace or name", ref)
	}
	return nil
}
