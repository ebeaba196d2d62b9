package extracttest

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// ExtractorLists are the values of the extractors: keys of every YAML
// document in data, as gitalog's config loader hands them to
// extract.Parse.
func ExtractorLists(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var lists []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return lists, nil
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 {
			continue
		}
		m := doc.Content[0]
		if m.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: a document must be a mapping", m.Line)
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "extractors" {
				lists = append(lists, m.Content[i+1])
			}
		}
	}
}
