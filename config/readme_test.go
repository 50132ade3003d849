package config

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestREADMEConfigurationTable holds README.md's configuration reference
// to the Config struct: every yaml key is in the table, every key in the
// table is a yaml key, and each default is what Default() sets. The table
// is what an operator reads; nothing else would notice it drifting.
func TestREADMEConfigurationTable(t *testing.T) {
	documented := readmeDefaults(t, "../README.md")
	want := defaultsByKey(t)
	for _, key := range slices.Sorted(maps.Keys(want)) {
		w := want[key]
		got, ok := documented[key]
		if !ok {
			t.Errorf("%s: a key of config.Config missing from README.md's configuration reference", key)
			continue
		}
		if !sameDefault(got, w) {
			t.Errorf("%s: README.md says the default is %q; Default() sets %q", key, got, w.text)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(documented)) {
		if _, ok := want[key]; !ok {
			t.Errorf("%s: in README.md's configuration reference but not a key of config.Config", key)
		}
	}
}

// defaultValue is a default as the README writes it: text, and for a
// share the number (the README writes 0.10 where Go prints 0.1).
type defaultValue struct {
	text  string
	share *float64
}

// defaultsByKey is Default() by yaml key, each value written the way the
// README writes it: durations as Go prints them without trailing zero
// units (30s, 5m, 24h), lists as [a, b], and "—" for an empty value.
func defaultsByKey(t *testing.T) map[string]defaultValue {
	t.Helper()
	d := reflect.ValueOf(Default())
	typ := d.Type()
	out := map[string]defaultValue{}
	for i := range typ.NumField() {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			t.Fatalf("field %s has no yaml key", typ.Field(i).Name)
		}
		out[key] = format(t, key, d.Field(i))
	}
	return out
}

func format(t *testing.T, key string, v reflect.Value) defaultValue {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return defaultValue{text: "—"}
		}
		v = v.Elem()
	}
	if v.Type() == reflect.TypeFor[time.Duration]() {
		return defaultValue{text: shortDuration(time.Duration(v.Int()))}
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return defaultValue{text: "—"}
		}
		return defaultValue{text: v.String()}
	case reflect.Int, reflect.Int64:
		return defaultValue{text: strconv.FormatInt(v.Int(), 10)}
	case reflect.Float64:
		f := v.Float()
		return defaultValue{text: strconv.FormatFloat(f, 'g', -1, 64), share: &f}
	case reflect.Bool:
		return defaultValue{text: strconv.FormatBool(v.Bool())}
	case reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return defaultValue{text: "[" + strings.Join(items, ", ") + "]"}
	}
	t.Fatalf("%s: no README form for a %s", key, v.Type())
	return defaultValue{}
}

// shortDuration prints d as Go does, less the zero units Go appends
// (5m0s is written 5m, 24h0m0s 24h).
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") || strings.HasSuffix(s, "h0m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func sameDefault(readme string, w defaultValue) bool {
	if w.share != nil {
		f, err := strconv.ParseFloat(readme, 64)
		return err == nil && f == *w.share
	}
	return readme == w.text
}

// readmeDefaults reads the "Configuration reference" section's key
// table: rows "| `key` | default | meaning |", where a row may list
// several keys with one default each ("—, `1433`, —") or one default for
// all. A default is unquoted from its backticks; "—" followed by a note
// in parentheses ("— (off)") is an empty value.
func readmeDefaults(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration reference\n")
	if !ok {
		t.Fatalf("%s: no \"## Configuration reference\" section", path)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	out := map[string]string{}
	inKeyTable := false
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			inKeyTable = false
			continue
		}
		cells := tableCells(line)
		if len(cells) >= 2 && cells[0] == "key" && cells[1] == "default" {
			inKeyTable = true
			continue
		}
		if !inKeyTable || strings.HasPrefix(cells[0], "---") || strings.HasPrefix(cells[0], "**") {
			continue // not the key table, its rule, or a group heading
		}
		if len(cells) < 3 {
			t.Fatalf("%s: row with %d cells: %s", path, len(cells), line)
		}
		keys := splitList(cells[0])
		defaults := splitList(cells[1])
		if len(defaults) == 1 {
			for len(defaults) < len(keys) {
				defaults = append(defaults, defaults[0])
			}
		}
		if len(defaults) != len(keys) {
			t.Errorf("%s: %d keys and %d defaults in row %s", path, len(keys), len(defaults), line)
			continue
		}
		for i, k := range keys {
			if !strings.HasPrefix(k, "`") || !strings.HasSuffix(k, "`") {
				t.Errorf("%s: key %q is not in backticks in row %s", path, k, line)
				continue
			}
			k = strings.Trim(k, "`")
			if _, dup := out[k]; dup {
				t.Errorf("%s: key %s listed twice", path, k)
			}
			out[k] = readmeValue(defaults[i])
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no key table (header \"| key | default | meaning |\") in the configuration reference", path)
	}
	return out
}

// tableCells splits a Markdown table row on its unescaped pipes (in a
// GitHub table, \| is a pipe within a cell, code spans included).
func tableCells(line string) []string {
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	cells = append(cells, strings.TrimSpace(cur.String()))
	// A row starts and ends with a pipe: drop the empty outer cells.
	if len(cells) > 0 && cells[0] == "" {
		cells = cells[1:]
	}
	if len(cells) > 0 && cells[len(cells)-1] == "" {
		cells = cells[:len(cells)-1]
	}
	return cells
}

// splitList splits a cell on the commas outside code spans.
func splitList(cell string) []string {
	var parts []string
	start, code := 0, false
	for i := 0; i < len(cell); i++ {
		switch cell[i] {
		case '`':
			code = !code
		case ',':
			if !code {
				parts = append(parts, strings.TrimSpace(cell[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(cell[start:]))
}

// readmeValue is one default as written: a code span is its content, and
// "—" alone or before a note in parentheses is the empty value.
func readmeValue(s string) string {
	if s == "—" || strings.HasPrefix(s, "— (") && strings.HasSuffix(s, ")") {
		return "—"
	}
	if len(s) >= 2 && strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`") {
		return s[1 : len(s)-1]
	}
	return s
}
