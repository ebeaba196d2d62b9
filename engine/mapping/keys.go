package mapping

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gitalog/gitalog/engine/sentry"
)

// A Port config may carry keys gitalog does not know, so an unknown key is
// a warning. But a key one typo away from a known one is a mistake, not
// another tool's key: "itemToParse" ignored leaves the resource without
// its itemsToParse, and every entity it gave is deleted. Such a key is an
// error, before anything is fetched.

// The keys known at each level of a config, in the order a suggestion
// prefers among equals.
var (
	topKeys      = []string{"resources", "sources", "extractors", "transforms", "sentry", "notify", "mappingEnv", "jqTimeout", "jqMaxSteps", "entityDeletionThreshold", "deleteDependentEntities", "createMissingRelatedEntities", "enableMergeEntity", "enableDeleteEntity", "portPrefix"}
	sentryKeys   = []string{"url", "host", "org", "organization", "concurrency", "maxPages", "maxResponseBytes", "requestTimeout", "fullRefresh"}
	resourceKeys = []string{"kind", "source", "selector", "port"}
	sourceKeys   = []string{"name", "url", "org"}
	portKeys     = []string{"entity", "itemsToParse", "itemsToParseName", "itemsToParseTopLevelTransform"}
	entityKeys   = []string{"mappings"}
	mappingKeys  = []string{"identifier", "title", "blueprint", "properties", "relations", "icon", "team"}
	searchKeys   = []string{"combinator", "rules"}
	ruleKeys     = []string{"property", "operator", "value"}
)

// nearMiss returns the known key that key is most likely a typo of: the
// same but for case, or within 1 edit of a key of up to 4 letters, 2 of a
// longer one (a swap of two neighbours is one edit). Short keys allow
// less, or "team" would claim every four-letter word.
func nearMiss(key string, known []string) (string, bool) {
	best, bestD := "", 3
	for _, k := range known {
		if k == key {
			return "", false
		}
		d := editDistance(key, k)
		if strings.EqualFold(key, k) {
			d = 0
		}
		limit := 2
		if len(k) <= 4 {
			limit = 1
		}
		if d <= limit && d < bestD {
			best, bestD = k, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours, on bytes (keys are
// ASCII; another byte only makes the distance larger).
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// unknownKey handles a key not known at its level: an error when it is a
// near miss of one of known, else a warning. name is how messages name
// the key ("port.itemToParse"), prefix what comes before ("resource #1
// (kind "team"): ").
func (p *parser) unknownKey(k *yaml.Node, prefix, name string, known []string) error {
	if s, ok := nearMiss(k.Value, known); ok {
		return p.errf(k, "%sunknown key %s; did you mean %s?", prefix, name, s)
	}
	p.warnf(k, "%sunknown key %s (ignored)", prefix, name)
	return nil
}

// selectorParam checks a selector key other than query against the
// options the resource's kind takes: "includeMemers" or a string "true"
// ignored would fetch no members and empty every team's relation to them,
// so a near miss and a wrongly typed option are errors. A key the kind
// does not take is a warning; under a kind gitalog does not know (an
// error later, naming the kinds) anything goes.
func (p *parser) selectorParam(r *Resource, k, v *yaml.Node) (any, error) {
	var val any
	if err := v.Decode(&val); err != nil {
		return nil, p.errf(v, "%s: selector.%s: %v", r.Label(), k.Value, err)
	}
	kind := sentry.Kinds[r.Kind]
	if kind == nil {
		return val, nil
	}
	known := []string{"query"}
	for _, o := range kind.Params() {
		if o.Name != k.Value {
			known = append(known, o.Name)
			continue
		}
		ok := false
		switch o.Type {
		case sentry.Bool:
			_, ok = val.(bool)
		case sentry.String:
			_, ok = val.(string)
		}
		// A quoted "true" decodes as a string, an unquoted 1.2 as a
		// number: the YAML tag, not the text, decides.
		if !ok || v.Kind != yaml.ScalarNode {
			return nil, p.errf(v, "%s: selector.%s must be %s, got %s", r.Label(), k.Value, o.Type, yamlType(v))
		}
		return val, nil
	}
	if err := p.unknownKey(k, r.Label()+": ", "selector."+k.Value, known); err != nil {
		return nil, err
	}
	return val, nil
}

// yamlType names a node's type the way a user wrote it.
func yamlType(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!str":
		return "the string " + strconv.Quote(n.Value)
	case n.Tag == "!!null":
		return "null"
	}
	return n.Value
}
