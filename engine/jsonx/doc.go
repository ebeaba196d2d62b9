// Package jsonx is gitalog's fast path for raw JSON from Sentry: it
// decodes JSON into the generic values gojq takes (nil, bool, json.Number,
// string, []any, map[string]any) several times faster than
// encoding/json's Decoder with UseNumber, which dominated a sync's CPU
// time, and splits a JSON array page into its elements' bytes without
// decoding them (SplitArray). Its results are exactly that Decoder's:
// numbers stay json.Number (so large ids keep every digit), invalid UTF-8
// becomes U+FFFD, and duplicate keys keep the last value; only its nesting
// limit is lower (MaxDepth).
package jsonx
