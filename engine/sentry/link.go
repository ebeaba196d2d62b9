package sentry

import (
	"slices"
	"strings"
)

// Link is one link of an RFC 8288 Link header.
type Link struct {
	URL    string
	Params map[string]string
}

// ParseLinks parses a Link header such as Sentry's
//
//	<https://...&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", <...>; rel="next"; ...
//
// Quoted values may contain commas and semicolons, so it scans rather than
// splitting on ",".
func ParseLinks(h string) []Link {
	var links []Link
	s := h
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" || s[0] != '<' {
			return links
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return links
		}
		l := Link{URL: strings.TrimSpace(s[1:end]), Params: map[string]string{}}
		s = s[end+1:]
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" || s[0] != ';' {
				break
			}
			s = strings.TrimLeft(s[1:], " \t")
			i := 0
			for i < len(s) && s[i] != '=' && s[i] != ';' && s[i] != ',' {
				i++
			}
			key := strings.ToLower(strings.TrimSpace(s[:i]))
			s = s[i:]
			val := ""
			if s != "" && s[0] == '=' {
				s = strings.TrimLeft(s[1:], " \t")
				if s != "" && s[0] == '"' {
					var b strings.Builder
					j := 1
					for ; j < len(s) && s[j] != '"'; j++ {
						if s[j] == '\\' && j+1 < len(s) {
							j++
						}
						b.WriteByte(s[j])
					}
					val = b.String()
					s = s[min(j+1, len(s)):]
				} else {
					j := 0
					for j < len(s) && s[j] != ';' && s[j] != ',' {
						j++
					}
					val = strings.TrimSpace(s[:j])
					s = s[j:]
				}
			}
			if key != "" {
				l.Params[key] = val
			}
		}
		links = append(links, l)
	}
}

// NextPage reads a Link header for the next page: its URL when the next
// link says results="true", "" when it says results="false" (Sentry sends
// both, always). known is false when the header says neither (no next
// link, or one without a results attribute): only the size of the page
// can then tell whether the list goes on.
func NextPage(h string) (next string, known bool) {
	for _, l := range ParseLinks(h) {
		if l.URL == "" || !slices.ContainsFunc(strings.Fields(l.Params["rel"]), func(r string) bool {
			return strings.EqualFold(r, "next")
		}) {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(l.Params["results"])) {
		case "true":
			return l.URL, true
		case "false":
			return "", true
		}
		return l.URL, false
	}
	return "", false
}
