package catalog

import (
	"errors"
	"strings"
	"testing"
)

func TestNameIndex(t *testing.T) {
	x := NewNameIndex()
	must := func(e *Entity, file string) {
		t.Helper()
		if err := x.Add(e, file); err != nil {
			t.Fatalf("Add %s: %v", file, err)
		}
	}
	must(&Entity{Blueprint: "service", Identifier: "payments", Aliases: []string{"pay", "payments", "pay"}}, "catalog/service/payments.json")
	must(&Entity{Blueprint: "service", Identifier: "search"}, "catalog/service/search.json")
	// Another blueprint has its own names.
	must(&Entity{Blueprint: "team", Identifier: "pay"}, "catalog/team/pay.json")

	for _, c := range []struct{ bp, name, want string }{
		{"service", "payments", "payments"}, {"service", "pay", "payments"},
		{"service", "search", "search"}, {"team", "pay", "pay"},
	} {
		if got, ok := x.Lookup(c.bp, c.name); !ok || got != c.want {
			t.Errorf("Lookup(%s, %s) = %q, %v; want %q", c.bp, c.name, got, ok, c.want)
		}
	}
	for _, c := range [][2]string{{"service", "nope"}, {"team", "payments"}, {"nope", "pay"}} {
		if got, ok := x.Lookup(c[0], c[1]); ok {
			t.Errorf("Lookup(%s, %s) = %q", c[0], c[1], got)
		}
	}

	// An alias that is another's identifier, an identifier that is
	// another's alias: both files are named; the free alias is indexed.
	err := x.Add(&Entity{Blueprint: "service", Identifier: "pay", Aliases: []string{"search", "checkout"}}, "catalog/service/pay.json")
	var ce *NameClashError
	if !errors.As(err, &ce) || len(ce.Clashes) != 2 {
		t.Fatalf("Add = %v, want two clashes", err)
	}
	want := []NameClash{
		{Name: "pay", Pointer: "/identifier", OtherFile: "catalog/service/payments.json", OtherPointer: "/aliases/0"},
		{Name: "search", Pointer: "/aliases/0", OtherFile: "catalog/service/search.json", OtherPointer: "/identifier"},
	}
	for i := range want {
		if ce.Clashes[i] != want[i] {
			t.Errorf("clash %d = %+v, want %+v", i, ce.Clashes[i], want[i])
		}
	}
	msg := err.Error()
	for _, s := range []string{`catalog/service/pay.json: the identifier "pay" is also the alias of catalog/service/payments.json`, `the alias "search" is also the identifier of catalog/service/search.json`} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q lacks %q", msg, s)
		}
	}
	if got, _ := x.Lookup("service", "pay"); got != "payments" {
		t.Errorf("a clash took over the name: pay -> %q", got)
	}
	if got, _ := x.Lookup("service", "checkout"); got != "pay" {
		t.Errorf("the free alias was not indexed: checkout -> %q", got)
	}
	// The same identifier in two files is a clash too.
	if err := x.Add(&Entity{Blueprint: "service", Identifier: "search"}, "catalog/service/search2.json"); err == nil {
		t.Error("a second file with the same identifier was accepted")
	}
}
