package backstage

import (
	"crypto/sha1"
	"encoding/hex"
	"regexp"
	"strings"
)

// The rules of @backstage/catalog-model's KubernetesValidatorFunctions
// and CommonValidatorFunctions, and of its documentation for names.
var (
	// isValidObjectName's pattern (1 to 63 characters).
	objectNameRE = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	// The documented rule, stricter: sequences of [a-zA-Z0-9] separated
	// by single [-_.], so no separator doubled, leading or trailing.
	docNameRE = regexp.MustCompile(`^[A-Za-z0-9]+([-_.][A-Za-z0-9]+)*$`)
	// isValidDnsLabel: namespaces, and each part of an annotation prefix.
	dnsLabelRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	kindRE     = regexp.MustCompile(`^[a-zA-Z][a-z0-9A-Z]*$`)
)

// ValidName reports whether s is a valid metadata.name, by the documented
// rule (which implies isValidObjectName).
func ValidName(s string) bool {
	return len(s) >= 1 && len(s) <= 63 && docNameRE.MatchString(s) && objectNameRE.MatchString(s)
}

// ValidNamespace is isValidDnsLabel.
func ValidNamespace(s string) bool { return len(s) >= 1 && len(s) <= 63 && dnsLabelRE.MatchString(s) }

// ValidKind is isValidKind.
func ValidKind(s string) bool { return len(s) >= 1 && len(s) <= 63 && kindRE.MatchString(s) }

// ValidDNSSubdomain is isValidDnsSubdomain.
func ValidDNSSubdomain(s string) bool {
	if len(s) < 1 || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !ValidNamespace(l) {
			return false
		}
	}
	return true
}

// ValidAnnotationKey is isValidAnnotationKey: [prefix/]name, the prefix a
// DNS subdomain, the name an object name.
func ValidAnnotationKey(s string) bool {
	parts := strings.Split(s, "/")
	switch len(parts) {
	case 1:
		return len(s) <= 63 && objectNameRE.MatchString(s)
	case 2:
		return ValidDNSSubdomain(parts[0]) && len(parts[1]) <= 63 && objectNameRE.MatchString(parts[1])
	}
	return false
}

// Name makes a valid metadata.name of an identifier: each run of
// characters outside [a-zA-Z0-9] becomes one "-" (or the "." or "_" it
// was, alone), separators are trimmed from the ends, and a name that had
// to change beyond that, or was cut to 63, gets a hash of the identifier,
// so that two identifiers never share a name. Deterministic.
func Name(id string) string {
	var b strings.Builder
	sep := false
	var pending byte
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			if sep && b.Len() > 0 {
				b.WriteByte(pending)
			}
			sep = false
			b.WriteByte(c)
		default:
			if !sep {
				pending = '-'
				if c == '.' || c == '_' {
					pending = c
				}
			} else {
				pending = '-'
			}
			sep = true
		}
	}
	n := b.String()
	if n == id && ValidName(n) {
		return n
	}
	// Lossy (or empty, or long): keep it readable, make it unique.
	sum := sha1.Sum([]byte(id))
	h := hex.EncodeToString(sum[:])[:8]
	if len(n) > 63-9 {
		n = strings.TrimRight(n[:63-9], "-_.")
	}
	if n == "" {
		return "x-" + h
	}
	return n + "-" + h
}

// Namespace makes a valid namespace of s: lower case, "-" for the rest.
func Namespace(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	if len(n) > 63 {
		n = strings.Trim(n[:63], "-")
	}
	if n == "" {
		return "default"
	}
	return n
}
