package receipt

import (
	"math"
	"slices"
	"testing"
)

func TestFormatCents(t *testing.T) {
	cases := []struct {
		in   int64
		want string
	}{
		{0, "0,00"},
		{5, "0,05"},
		{-5, "-0,05"},
		{100, "1,00"},
		{-500, "-5,00"},
		{2350, "23,50"},
		{99999, "999,99"},
		{100000, "1 000,00"},
		{123456, "1 234,56"},
		{-123456, "-1 234,56"},
		{100_000_000, "1 000 000,00"},
		{math.MaxInt64, "92 233 720 368 547 758,07"},
		{math.MinInt64, "-92 233 720 368 547 758,08"},
	}
	for _, c := range cases {
		if got := FormatCents(c.in); got != c.want {
			t.Errorf("FormatCents(%d) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := formatRate(550); got != "5,50%" {
		t.Errorf("formatRate(550) = %q, want 5,50%%", got)
	}
}

func TestRow(t *testing.T) {
	cases := []struct {
		name          string
		label, amount string
		indent        int
		want          []string
	}{
		{"fits", "1 X PLAT N°4", "23,50", 4, []string{
			"1 X PLAT N°4       23,50"}},
		{"exactly full", "1 X PLAT AU CHOIX", "123,50", 4, []string{
			"1 X PLAT AU CHOIX 123,50"}},
		{"last words move down", "1 X PLAT DU JOUR GRATINÉ", "23,50", 4, []string{
			"1 X PLAT DU",
			"    JOUR GRATINÉ   23,50"}},
		{"wrapped then moved", "1 X ASSIETTE DE FROMAGES AFFINÉS", "1 023,50", 4, []string{
			"1 X ASSIETTE DE FROMAGES",
			"    AFFINÉS     1 023,50"}},
		{"no word fits beside the amount", "1 X ABCDEFGHIJKLMNOPQRST", "1 000 000,00", 4, []string{
			"1 X ABCDEFGHIJKLMNOPQRST",
			"            1 000 000,00"}},
		{"long word is cut", "1 X ABCDEFGHIJKLMNOPQRSTUVWXYZ", "5,00", 4, []string{
			"1 X ABCDEFGHIJKLMNOPQRST",
			"    UVWXYZ          5,00"}},
		{"long word alone is cut", "ÀBCDEFGHIJKLMNOPQRSTUVWXYZÀBCDEFGHIJKLMNOPQRSTUVWXYZ", "5,00", 2, []string{
			"ÀBCDEFGHIJKLMNOPQRSTUVWX",
			"  YZÀBCDEFGHIJKLMNOPQRST",
			"  UVWXYZ            5,00"}},
		{"amount as wide as the paper", "TOTAL", "123 456 789 012 345,67 €", 0, []string{
			"TOTAL",
			"123 456 789 012 345,67 €"}},
		{"empty label", "", "5,00", 0, []string{
			"                    5,00"}},
		{"spaces collapse", "  A   B  ", "5,00", 0, []string{
			"A B                 5,00"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := newSheet(24)
			if err != nil {
				t.Fatal(err)
			}
			s.row(c.label, c.amount, c.indent)
			got, err := s.result()
			if err != nil {
				t.Fatal(err)
			}
			checkWidth(t, got, 24)
			if !slices.Equal(got, c.want) {
				t.Errorf("row(%q, %q) =\n%q\nwant\n%q", c.label, c.amount, got, c.want)
			}
		})
	}
}

func TestRowAmountTooWide(t *testing.T) {
	s, _ := newSheet(24)
	s.row("TOTAL", FormatCents(math.MinInt64), 0)
	s.left("AFTER")
	if lines, err := s.result(); err == nil {
		t.Fatalf("a 26-rune amount on 24 columns was laid out: %q", lines)
	}
}

func TestCenter(t *testing.T) {
	s, _ := newSheet(24)
	s.center("CB")
	s.center("12 RUE DE LA RÉPUBLIQUE ET DES ARTS")
	want := []string{
		"           CB",
		"12 RUE DE LA RÉPUBLIQUE",
		"      ET DES ARTS",
	}
	if got, _ := s.result(); !slices.Equal(got, want) {
		t.Errorf("center = %q, want %q", got, want)
	}
}

func TestClean(t *testing.T) {
	cases := []struct{ in, want string }{
		{"PLAT N°4", "PLAT N°4"},
		{"A\tB\r\nC", "A B  C"},
		{"abc\u202Edef\u2066g", "abcdefg"},
		{"a\u2028b", "a b"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"crème\u00A0brûlée", "crème\u00A0brûlée"},
	}
	for _, c := range cases {
		if got := clean(c.in); got != c.want {
			t.Errorf("clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTotal(t *testing.T) {
	s, _ := newSheet(24)
	s.total("NET À PAYER :", "53,50")
	s.total("NET À PAYER :", "1 000 000,00")
	want := []string{
		"NET À PAYER :      53,50",
		"NET À PAYER :",
		"            1 000 000,00",
	}
	if got, _ := s.result(); !slices.Equal(got, want) {
		t.Errorf("total =\n%q\nwant\n%q", got, want)
	}
}
